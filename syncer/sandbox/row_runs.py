"""Which rows survive a run of row deletions, computed in one pass.

Google applies the requests of a batch in order, each seeing the previous one's result, so
the n-th deleteDimension names rows in the coordinates left by the ones before it.
:func:`surviving_rows` replays such a run on a chunked list of original row indexes:
each deletion costs O(chunks + chunk size), not O(rows), and the caller rebuilds its row
list and re-keys its side tables once, from the survivors.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate

CHUNK = 1024


def surviving_rows(total: int, ranges: Iterable[tuple[int, int]]) -> list[int]:
    """Original indexes (of ``range(total)``) left after deleting each ``[start, end)`` in
    turn, each range given in the coordinates left by the previous deletions.

    Parts of a range at or past the remaining length are ignored (those rows hold nothing).
    """
    chunks = [list(range(i, min(i + CHUNK, total))) for i in range(0, total, CHUNK)]
    remaining = total
    for start, end in ranges:
        end = min(end, remaining)
        if start >= end:
            continue
        remaining -= end - start
        ends = list(accumulate(map(len, chunks)))
        index = bisect_right(ends, start)
        offset = start - (ends[index - 1] if index else 0)
        left = end - start
        while left > 0:
            chunk = chunks[index]
            take = min(left, len(chunk) - offset)
            del chunk[offset : offset + take]
            left -= take
            if chunk:
                index += 1
            else:
                del chunks[index]
            offset = 0
    return [row for chunk in chunks for row in chunk]
