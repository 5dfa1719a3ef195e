"""The verify stage's reasoning about which rows a removal took (pure)."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from syncer.model import RowRef, SetCell, Table, Written, WrittenCell
from syncer.table_cache import TableCache, column_texts
from syncer.verify import RemovalStory, expected_keys, removal_hits


@st.composite
def races(draw: st.DrawFn) -> tuple[list[str], list[str], set[int], set[str]]:
    """A key column, people's deletions and insertions before syncer's removals land,
    the positions syncer removes (as it read them), and what the tab then shows."""
    n = draw(st.integers(1, 12))
    before = [f"K{i}" for i in range(n)]
    deleted = set(draw(st.lists(st.sampled_from(before), max_size=2, unique=True)))
    layout = [k for k in before if k not in deleted]
    for j in range(draw(st.integers(0, 2))):
        layout.insert(draw(st.integers(0, len(layout))), f"N{j}")
    removed = set(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3, unique=True)))
    took = {layout[r] for r in removed if r < len(layout)}
    # A row inserted and removed between the two reads is seen by no read at all.
    assume(not any(k.startswith("N") for k in took))
    after = [k for k in layout if k not in took]
    return before, after, removed, took


@settings(max_examples=300, deadline=None)
@given(races())
def test_removal_hits_names_the_rows_taken_or_nothing(
    race: tuple[list[str], list[str], set[int], set[str]],
) -> None:
    """Whatever people did before the write, a story is either certain and exactly the
    rows the removals took, or uncertain and includes them all — never missing one."""
    before, after, removed, took = race
    found = removal_hits(before, after, removed)
    if found is not None:
        assert took <= found.took
        assert not found.certain or found.took == took


def test_a_row_deleted_above_shifts_the_removal_onto_the_next_customer() -> None:
    """A person deletes K1 while syncer removes K3 (position 3): the removal took K4,
    and K1 is not mistaken for syncer's (it stays deleted)."""
    before = ["K0", "K1", "K2", "K3", "K4", "K5"]
    after = ["K0", "K2", "K3", "K5"]
    assert removal_hits(before, after, {3}) == RemovalStory(frozenset({"K4"}), certain=True)


def test_without_people_the_removals_took_what_they_meant() -> None:
    """Nothing moved: the rows taken are the rows at the removed positions."""
    before = ["K0", "K1", "K2"]
    assert removal_hits(before, ["K0", "K2"], {1}) == RemovalStory(frozenset({"K1"}), True)


def test_a_sort_leaves_no_explanation() -> None:
    """Keys out of their read order: positions explain nothing."""
    assert removal_hits(["K0", "K1", "K2"], ["K2", "K0"], {1}) is None


def test_two_stories_put_back_both_customers_rather_than_guess() -> None:
    """K1 and K2 are gone, one deleted by a person and one by syncer's removal at
    position 1, and either way round fits: both are named, as uncertain."""
    story = removal_hits(["K0", "K1", "K2", "K3"], ["K0", "K3"], {1})
    assert story is not None
    assert story.took == {"K1", "K2"}
    assert not story.certain


def test_expected_keys_leave_the_cycles_shared_key_texts_as_read() -> None:
    """Working out the keys a write should leave (an id assigned, a row removed, one
    appended) does not change the key texts the guard shared through the cycle's cache."""
    table = Table("T", 1, ("id", "name"), (("C1", "a"), ("", "b"), ("C3", "c")))
    cache = TableCache()
    shared = column_texts(table, "id", cache)
    assign = SetCell("T", RowRef(None, 3), "id", "C2", None, "assign_id")
    written = Written(
        cells=[WrittenCell("T", 3, 1, assign)], removed={"T": {0}}, appended={"T": ["C9"]}
    )
    assert expected_keys(table, "T", "id", written, cache) == ["C2", "C3", "C9"]
    assert column_texts(table, "id", cache) is shared
    assert shared == ["C1", "", "C3"]
