"""Injectable faults: error statuses, latency and dropped connections.

Tests inject them with :meth:`FaultInjector.inject`; ``syncer sandbox --fault`` gives them
as text (:class:`FaultSpec`): ``429@0.05`` (answer 429 to 5 % of requests), ``503@0.1``,
``drop@0.02`` (close the connection without an answer), ``latency=1.5@0.2`` (delay 20 %
of requests by 1.5 s), each optionally limited to one API (``503@0.1:sheets``).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field, replace
from typing import Literal

FaultAction = Literal["status", "drop"]
APIS = ("sheets", "drive", "oauth")


@dataclass
class Fault:
    """One injected fault.

    It fires on the ``on_request``-th API request counted from its injection (1 = the next
    one), or on each request with ``probability`` (seeded), at most ``times`` times
    (``None``: unlimited; an ``on_request`` fault can only fire once anyway). ``api``
    restricts it to "sheets", "drive" or "oauth" requests.
    """

    status: int = 503
    drop: bool = False
    latency: float = 0.0
    on_request: int | None = None
    probability: float | None = None
    times: int | None = None
    api: str | None = None
    seen: int = 0
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random)


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request."""

    status: int | None = None
    drop: bool = False
    latency: float = 0.0


_MESSAGES = {
    429: ("Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED"),
    500: ("Internal error encountered.", "INTERNAL"),
    502: ("Bad Gateway", "UNAVAILABLE"),
    503: ("The service is currently unavailable.", "UNAVAILABLE"),
    504: ("Deadline exceeded.", "DEADLINE_EXCEEDED"),
}


@dataclass(frozen=True)
class FaultSpec:
    """A fault firing on a share of requests, as written ``KIND@RATE[:API]``.

    KIND is an HTTP error status (400-599), ``drop`` or ``latency=SECONDS``; RATE the
    share of requests hit (0 to 1, seeded); API ``sheets``, ``drive`` or ``oauth``.
    """

    rate: float
    status: int = 0
    drop: bool = False
    latency: float = 0.0
    api: str | None = None

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        """The spec written in ``text``; ValueError says what is wrong and what is meant."""
        usage = "write KIND@RATE[:API], e.g. 429@0.05, drop@0.02, latency=1.5@0.2:sheets"
        kind, at, rest = text.strip().partition("@")
        rate_text, _, api = rest.partition(":")
        try:
            rate = float(rate_text)
        except ValueError:
            raise ValueError(f"fault {text!r}: no rate after '@'; {usage}") from None
        if not at or not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault {text!r}: the rate must be within 0 and 1; {usage}")
        if api and api not in APIS:
            raise ValueError(f"fault {text!r}: the API must be one of {', '.join(APIS)}")
        spec = cls(rate=rate, api=api or None)
        if kind == "drop":
            return replace(spec, drop=True)
        if kind.startswith("latency="):
            try:
                seconds = float(kind[len("latency=") :])
            except ValueError:
                seconds = -1.0
            if not 0.0 < seconds <= 60.0:
                raise ValueError(f"fault {text!r}: latency is a number of seconds, 0 to 60")
            return replace(spec, latency=seconds)
        if kind.isdigit() and 400 <= int(kind) <= 599:
            return replace(spec, status=int(kind))
        raise ValueError(f"fault {text!r}: unknown kind {kind!r}; {usage}")

    def inject(self, injector: FaultInjector, seed: int) -> Fault:
        """Add this fault to ``injector``, its hits drawn from ``seed``."""
        return injector.inject(
            self.status,
            probability=self.rate,
            seed=seed,
            drop=self.drop,
            latency=self.latency,
            api=self.api,
        )


def fault_message(status: int) -> tuple[str, str]:
    """Google's message and status name for an injected error code."""
    return _MESSAGES.get(status, ("Injected fault.", "UNKNOWN"))


class FaultInjector:
    """Holds the active faults; the server asks it about every API request.

    Thread-safe: tests inject faults from their own thread while the server's request
    threads call :meth:`decide`.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.faults: list[Fault] = []
        self._lock = threading.Lock()

    def inject(
        self,
        status: int = 503,
        *,
        on_request: int | None = None,
        probability: float | None = None,
        seed: int | None = None,
        times: int | None = None,
        drop: bool = False,
        latency: float = 0.0,
        api: str | None = None,
    ) -> Fault:
        """Add a fault; with neither ``on_request`` nor ``probability`` it hits the next request.

        ``on_request`` faults fire once; probability faults fire on every hit unless
        ``times`` caps them.
        """
        if on_request is not None and probability is not None:
            raise ValueError("give on_request or probability, not both")
        if on_request is None and probability is None:
            on_request = 1
        if on_request is not None and on_request < 1:
            raise ValueError(f"on_request counts from 1 (the next request), got {on_request}")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be within [0, 1], got {probability}")
        if times is not None and (isinstance(times, bool) or int(times) != times or times < 1):
            raise ValueError(f"times must be a positive integer or None, got {times!r}")
        fault = Fault(
            status=status,
            drop=drop,
            latency=latency,
            on_request=on_request,
            probability=probability,
            times=times,
            api=api,
            rng=random.Random(self.seed if seed is None else seed),
        )
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self.faults.clear()

    def decide(self, api: str) -> FaultDecision:
        """Advance the faults' counters for one request and return what to do to it."""
        with self._lock:
            return self._decide(api)

    def _decide(self, api: str) -> FaultDecision:
        decision = FaultDecision()
        for fault in self.faults:
            if fault.api is not None and fault.api != api:
                continue
            if fault.times is not None and fault.fired >= fault.times:
                continue
            fault.seen += 1
            if fault.on_request is not None:
                hit = fault.seen == fault.on_request
            else:
                hit = fault.rng.random() < (fault.probability or 0.0)
            if hit and decision.status is None and not decision.drop:
                fault.fired += 1
                if fault.drop:
                    decision = FaultDecision(drop=True, latency=fault.latency)
                elif fault.status:
                    decision = FaultDecision(status=fault.status, latency=fault.latency)
                else:
                    decision = FaultDecision(latency=fault.latency)
        return decision
