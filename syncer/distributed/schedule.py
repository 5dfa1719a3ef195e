"""Which tick of a ledger's schedule is due: the identity of one scheduled cycle.

A tick is the time a cycle was *scheduled* for, the same on every replica: for
``every: N`` the multiples of N seconds since the epoch (so replicas agree without
talking), for ``cron`` the cron's fire times in the ledger's zone. The dispatcher asks
:func:`due_tick` every second with the last tick it dispatched; a ledger it never
dispatched is due at once (the daemon's run-at-start), its tick the current second.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from syncer.daemon import parse_every
from syncer.errors import ConfigError
from syncer.ledger import Schedule

#: Fire times walked at most to find the latest one (a worker down for days).
_MAX_STEPS = 10_000


def _second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def cron_trigger(cron: str, timezone: str) -> CronTrigger:
    """The trigger of a 5-field cron in ``timezone`` (ConfigError when invalid)."""
    try:
        return CronTrigger.from_crontab(cron, timezone=timezone)
    except ValueError as exc:
        raise ConfigError(f"schedule `cron: {cron}` is invalid ({exc})") from exc


def due_tick(
    schedule: Schedule, timezone: str, now: datetime, last: datetime | None
) -> datetime | None:
    """The latest tick at or before ``now`` if it is after ``last``, else None (UTC)."""
    if schedule.every is not None:
        seconds = int(parse_every(schedule.every).total_seconds())
        epoch = int(now.timestamp())
        tick = datetime.fromtimestamp(epoch - epoch % seconds, UTC)
        if last is None:
            return _second(now)
        return tick if tick > last else None
    assert schedule.cron is not None
    if last is None:
        return _second(now)
    trigger = cron_trigger(schedule.cron, timezone)
    latest: datetime | None = None
    fire: datetime | None = trigger.get_next_fire_time(None, last + timedelta(seconds=1))
    for _ in range(_MAX_STEPS):
        if fire is None or fire > now:
            break
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return latest.astimezone(UTC) if latest is not None else None


def interval(schedule: Schedule, timezone: str, now: datetime) -> timedelta:
    """The gap between two ticks (for readiness: three missed ones mean not ready)."""
    if schedule.every is not None:
        return parse_every(schedule.every)
    assert schedule.cron is not None
    trigger = cron_trigger(schedule.cron, timezone)
    first = trigger.get_next_fire_time(None, now)
    if first is None:
        return timedelta(days=1)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    if second is None:
        return timedelta(days=1)
    gap: timedelta = second - first
    return max(gap, timedelta(seconds=1))
