"""Which snapshots the retention keeps (pure: no I/O).

A snapshot is kept when any of these holds:

- it is the newest of one of the last ``keep_daily`` days or ``keep_weekly`` ISO weeks
  that have snapshots (UTC), or the newest of all;
- it is among the newest ``keep_last`` *verified* snapshots of its reason
  (``before_removal``, ``manual``, ``scheduled`` …): a manual backup never prunes the
  before-archive snapshots taken minutes earlier, and a corrupt snapshot does not count;
- it is pinned: a running cycle depends on it (see :meth:`BackupStore.pin`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import UTC, date, datetime

from syncer.backup.manifest import Manifest


def select_retained(
    created: Iterable[datetime], keep_daily: int, keep_weekly: int
) -> set[datetime]:
    """Which snapshot times to keep: the newest of each of the last ``keep_daily`` days
    and of the last ``keep_weekly`` ISO weeks that have snapshots, and always the newest."""
    ordered = sorted(set(created), reverse=True)
    keep: set[datetime] = set(ordered[:1])
    days: set[date] = set()
    weeks: set[tuple[int, int]] = set()
    for when in ordered:
        day = when.astimezone(UTC).date()
        week = day.isocalendar()[:2]
        if day not in days and len(days) < keep_daily:
            days.add(day)
            keep.add(when)
        if week not in weeks and len(weeks) < keep_weekly:
            weeks.add((week[0], week[1]))
            keep.add(when)
    return keep


def select_kept(
    manifests: Sequence[Manifest],
    *,
    keep_daily: int,
    keep_weekly: int,
    keep_last: int,
    verified: Callable[[Manifest], bool],
    pinned: Collection[str] = (),
) -> set[str]:
    """The ids of the snapshots to keep among ``manifests`` (see the module docstring).

    ``verified`` is asked only about the newest snapshots of each reason, until
    ``keep_last`` of them passed."""
    ordered = sorted(manifests, key=lambda m: (m.created, m.id), reverse=True)
    times = select_retained([m.created for m in ordered], keep_daily, keep_weekly)
    keep: set[str] = {m.id for m in ordered if m.id in pinned}
    seen_times: set[datetime] = set()
    for m in ordered:  # same-second duplicates: only the first of a kept time counts
        if m.created in times and m.created not in seen_times:
            keep.add(m.id)
            seen_times.add(m.created)
    counted: dict[str, int] = {}
    for m in ordered:
        if counted.get(m.reason, 0) >= keep_last:
            continue
        if verified(m):
            counted[m.reason] = counted.get(m.reason, 0) + 1
            keep.add(m.id)
    return keep
