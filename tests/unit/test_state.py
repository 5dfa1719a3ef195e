"""The state store: watched values, first sightings, change tokens and run history — on
SQLite and on PostgreSQL (the same tests, parametrized over both backends)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pgdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, event, text

from syncer import migrations
from syncer.errors import StateError
from syncer.journal import Intent, Journal, MovingRow
from syncer.state import RunRecord, StateStore, display_url

T0 = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
BACKENDS = ["sqlite", "postgresql"]


class Urls:
    """Fresh state databases: a new SQLite file, or this session's PostgreSQL database
    (created and migrated once) emptied; ``private`` gives a PostgreSQL one of its own."""

    def __init__(self, tmp: pytest.TempPathFactory) -> None:
        self._tmp = tmp
        self._pg: str | None = None
        self._made: list[str] = []

    def fresh(self, backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{self._tmp.mktemp('state') / 'var' / 'state.db'}"
        if self._pg is None:
            self._pg = self.private(backend)
        pgdb.truncate_all(self._pg)
        return self._pg

    def private(self, backend: str) -> str:
        if backend == "sqlite":
            return self.fresh(backend)
        url = pgdb.create_database()
        self._made.append(url)
        engine = create_engine(url)
        try:
            migrations.upgrade(engine)
        finally:
            engine.dispose()
        return url

    def close(self) -> None:
        for url in self._made:
            pgdb.drop_database(url)


@pytest.fixture(scope="session")
def urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Urls]:
    """Where the state tests' databases come from (dropped at the end of the session)."""
    made = Urls(tmp_path_factory)
    yield made
    made.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The state backend under test."""
    return str(request.param)


@pytest.fixture
def store(urls: Urls, backend: str) -> Iterator[StateStore]:
    """A fresh, empty state store on the backend under test."""
    s = StateStore(urls.fresh(backend))
    yield s
    s.close()


def test_file_is_created_owner_only(tmp_path: Path) -> None:
    """A SQLite state file is created with its parent directory, mode 0600."""
    path = tmp_path / "deep" / "dir" / "state.db"
    s = StateStore(f"sqlite:///{path}")
    s.close()
    assert path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_empty_ledger_loads_empty_state(store: StateStore) -> None:
    """A ledger never seen has no watched values, first sightings or token."""
    prev = store.load("sales")
    assert dict(prev.watched) == {}
    assert dict(prev.first_seen) == {}
    assert store.last_change_token("sales") is None
    assert store.mark("sales") is None


def test_save_then_load_round_trips(store: StateStore) -> None:
    """What save() records is what load() returns, per ledger."""
    store.save(
        "sales",
        {"XS2024001": {"合作状态": "合作中", "跟进内容": "电话"}},
        {"客户信息|XS2024001|联系方式|phone": T0},
        "tok-1",
        config_hash="h1",
        now=T0,
    )
    store.save("other", {"A1": {"x": "1"}}, {}, "tok-9")
    prev = store.load("sales")
    assert prev.watched == {"XS2024001": {"合作状态": "合作中", "跟进内容": "电话"}}
    assert prev.first_seen == {"客户信息|XS2024001|联系方式|phone": T0}
    assert store.last_change_token("sales") == "tok-1"
    mark = store.mark("sales")
    assert mark is not None
    assert (mark.config_hash, mark.last_cycle) == ("h1", T0)
    assert store.load("other").watched == {"A1": {"x": "1"}}


def test_save_updates_changed_values_and_keeps_unmentioned_keys(store: StateStore) -> None:
    """A later save overwrites changed values, adds new ones, and keeps other keys."""
    store.save("sales", {"K1": {"s": "a"}, "K2": {"s": "b"}}, {}, "t1")
    store.save("sales", {"K1": {"s": "c", "n": "x"}}, {}, "t2")
    assert store.load("sales").watched == {"K1": {"s": "c", "n": "x"}, "K2": {"s": "b"}}
    assert store.last_change_token("sales") == "t2"


def test_first_seen_forgets_resolved_findings(store: StateStore) -> None:
    """Findings missing from a save are forgotten; present ones keep their time."""
    store.save("sales", {}, {"a": T0, "b": T0}, None)
    later = T0 + timedelta(days=1)
    store.save("sales", {}, {"a": T0, "c": later}, None)
    assert store.load("sales").first_seen == {"a": T0, "c": later}


def test_forget_keys_removes_watched_values(store: StateStore) -> None:
    """Keys moved to history lose their watched values."""
    store.save("sales", {"K1": {"s": "a"}, "K2": {"s": "b"}}, {}, None)
    store.forget_keys("sales", ["K1"])
    assert store.load("sales").watched == {"K2": {"s": "b"}}


def test_a_save_forgets_moved_keys_in_the_same_transaction(store: StateStore) -> None:
    """Keys a cycle moved to history lose their watched values in the cycle's own save,
    whatever it observed of them; the map kept in memory and a fresh reader agree."""
    store.save("sales", {"K1": {"s": "a"}, "K2": {"s": "b"}, "K3": {"s": "c"}}, {}, None)
    store.save("sales", {"K1": {"s": "x"}, "K2": {"s": "y"}}, {}, "t", forget=["K1", "K3"])
    assert store.load("sales").watched == {"K2": {"s": "y"}}
    fresh = StateStore(store.url)
    try:
        assert fresh.load("sales").watched == {"K2": {"s": "y"}}
    finally:
        fresh.close()


def test_runs_are_most_recent_first_and_filterable(store: StateStore) -> None:
    """record_run appends; runs() lists newest first, optionally per ledger."""
    for i, name in enumerate(["sales", "ops", "sales"]):
        store.record_run(
            RunRecord(name, f"c{i}", T0, T0 + timedelta(seconds=i), "ok", i, 1, 0, 0, 2)
        )
    assert [r.cycle_id for r in store.runs()] == ["c2", "c1", "c0"]
    sales = store.runs("sales")
    assert [r.cycle_id for r in sales] == ["c2", "c0"]
    assert sales[0].finished == T0 + timedelta(seconds=2)
    assert sales[0].findings == 2


def test_pruning_runs_keeps_the_recent_ones_and_each_ledgers_last(store: StateStore) -> None:
    """prune_runs deletes the ledger's runs that finished before the cutoff, but its
    newest run and its newest run with findings; other ledgers keep theirs."""
    day = timedelta(days=1)
    for i in range(10):
        counted = T0 + i * day if i == 3 else None
        store.record_run(
            RunRecord("sales", f"s{i}", T0, T0 + i * day, "ok", i, 0, 0, 0, 1, None, counted)
        )
        store.record_run(RunRecord("ops", f"o{i}", T0, T0 + i * day, "ok", 0, 0, 0, 0, 1))
    assert store.prune_runs("sales", T0 + 5 * day) == 4  # s0, s1, s2, s4
    assert {r.cycle_id for r in store.runs("sales")} == {"s3", *(f"s{i}" for i in range(5, 10))}
    assert store.prune_runs("sales", T0 + 30 * day) == 4
    assert [r.cycle_id for r in store.runs("sales")] == ["s9", "s3"]
    assert store.last_findings("sales") == (3, T0 + 3 * day)
    assert len(store.runs("ops", limit=50)) == 10


def test_pruning_the_journal_keeps_open_and_newest_entries(store: StateStore) -> None:
    """Journal.prune deletes closed entries (and the row values of their intents) that
    started before the cutoff, but never an open one nor the ``keep`` newest."""
    day = timedelta(days=1)
    journal = Journal(store)
    moving = Intent((MovingRow("K", "history", (("name", "张三"),)),), ("K",))
    for i in range(8):
        journal.begin("sales", f"s{i}", T0 + i * day, moving, 1)
        if i != 1:
            journal.finish("sales", f"s{i}", T0 + i * day)
        journal.begin("ops", f"o{i}", T0 + i * day, moving, 1)
        journal.finish("ops", f"o{i}", T0 + i * day)
    assert journal.prune("sales", T0 + 6 * day, keep=3) == 4  # s0, s2, s3, s4
    left = {e.cycle_id: e for e in journal.entries("sales")}
    assert set(left) == {"s1", "s5", "s6", "s7"}
    assert left["s1"].status == "open"
    assert left["s1"].intent == moving
    with store.engine.connect() as conn:
        intents = conn.execute(text("SELECT cycle_id FROM journal_intents")).scalars().all()
    assert sorted(intents) == sorted(["s1", "s5", "s6", "s7", *(f"o{i}" for i in range(8))])


def test_naive_timestamps_are_rejected(store: StateStore) -> None:
    """Storing a naive datetime is a programming error, not silently shifted."""
    with pytest.raises(ValueError, match="timezone-aware"):
        store.save("sales", {}, {"a": datetime(2024, 1, 1)}, None)


def test_unusable_database_is_a_state_error(tmp_path: Path) -> None:
    """A database path that cannot be created raises StateError naming the URL."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StateError, match="cannot be opened"):
        StateStore(f"sqlite:///{blocker / 'sub' / 'state.db'}")


def test_hundred_thousand_keys_round_trip(store: StateStore) -> None:
    """100k keys are saved in bulk and read back whole; a re-save updates only changes."""
    observed = {f"XS{i:06d}": {"跟进内容": str(i)} for i in range(100_000)}
    store.save("big", observed, {}, "t")
    observed["XS000007"] = {"跟进内容": "changed"}
    store.save("big", observed, {}, "t")
    watched = store.load("big").watched
    assert len(watched) == 100_000
    assert watched["XS099999"] == {"跟进内容": "99999"}
    assert watched["XS000007"] == {"跟进内容": "changed"}


@settings(max_examples=25, deadline=None)
@given(
    first=st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=10), max_size=3),
        max_size=8,
    ),
    second=st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=10), max_size=3),
        max_size=8,
    ),
)
@pytest.mark.parametrize("kind", BACKENDS)
def test_save_merges_like_a_dict_update(
    urls: Urls,
    kind: str,
    first: dict[str, dict[str, str]],
    second: dict[str, dict[str, str]],
) -> None:
    """Two saves leave the per-key, per-column merge of both observations."""
    s = StateStore(urls.fresh(kind))
    try:
        s.save("L", first, {}, None)
        s.save("L", second, {}, None)
        expected: dict[str, dict[str, str]] = {k: dict(v) for k, v in first.items() if v}
        for key, cols in second.items():
            if cols:
                expected.setdefault(key, {}).update(cols)
        assert s.load("L").watched == expected
    finally:
        s.close()


# --- kept watched maps, O(changes) saves, other writers, old databases ------------------

Observed = dict[str, dict[str, str]]

_maps = st.dictionaries(
    st.sampled_from([f"K{i}" for i in range(12)]),
    st.dictionaries(st.sampled_from(["s", "n", "跟进"]), st.text(max_size=6), max_size=3),
    max_size=10,
)


class WriteCounter:
    """Counts the parameter sets of INSERT/UPDATE statements sent to the watched table
    (an SQLAlchemy event listener on the real engine, not a mock)."""

    def __init__(self, store: StateStore) -> None:
        self.rows = 0
        event.listen(store.engine, "before_cursor_execute", self._seen)

    def _seen(
        self, _conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        text = statement.lower()
        if "watched " in text and (text.startswith("insert") or text.startswith("update")):
            self.rows += len(params) if many else 1


def _merge(into: Observed, more: Observed) -> None:
    for key, cols in more.items():
        if cols:
            into.setdefault(key, {}).update(cols)


@settings(max_examples=30, deadline=None)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("save"), _maps),
            st.tuples(st.just("forget"), st.sets(st.sampled_from(["K0", "K1", "K5", "K9"]))),
            st.tuples(st.just("other"), _maps),
        ),
        min_size=1,
        max_size=6,
    )
)
@pytest.mark.parametrize("kind", BACKENDS)
def test_kept_map_always_equals_a_fresh_read(
    urls: Urls, kind: str, steps: list[tuple[str, Any]]
) -> None:
    """Any mix of saves, forgets and another store's saves on one database leaves both
    stores' load() equal to the expected merge and to a cold read by a third store."""
    url = urls.fresh(kind)
    mine, other = StateStore(url), StateStore(url)
    expected: Observed = {}
    try:
        for kind, arg in steps:
            if kind == "forget":
                mine.forget_keys("L", arg)
                for key in arg:
                    expected.pop(key, None)
            else:
                (mine if kind == "save" else other).save("L", arg, {}, None)
                _merge(expected, arg)
            assert mine.load("L").watched == expected
        assert other.load("L").watched == expected
        cold = StateStore(url)
        try:
            assert cold.load("L").watched == expected
        finally:
            cold.close()
    finally:
        mine.close()
        other.close()


_sightings = st.dictionaries(
    st.sampled_from([f"F{i}" for i in range(8)]),
    st.sampled_from([T0 + timedelta(minutes=m) for m in range(4)]),
    max_size=6,
)


@settings(max_examples=30, deadline=None)
@given(steps=st.lists(st.tuples(st.booleans(), _maps, _sightings), min_size=1, max_size=6))
@pytest.mark.parametrize("kind", BACKENDS)
def test_kept_first_sightings_always_equal_a_fresh_read(
    urls: Urls, kind: str, steps: list[tuple[bool, Observed, dict[str, datetime]]]
) -> None:
    """Saves by this store and by another one on the same database, in any order, leave
    both stores' first sightings equal to the last save's and to a cold read."""
    url = urls.fresh(kind)
    mine, other = StateStore(url), StateStore(url)
    try:
        for by_me, observed, seen in steps:
            (mine if by_me else other).save("L", observed, seen, None)
            assert dict(mine.load("L").first_seen) == seen
        assert dict(other.load("L").first_seen) == steps[-1][2]
        cold = StateStore(url)
        try:
            assert dict(cold.load("L").first_seen) == steps[-1][2]
        finally:
            cold.close()
    finally:
        mine.close()
        other.close()


def test_steady_cycle_reads_no_first_sighting_rows(store: StateStore) -> None:
    """After a save, loading and saving again read no row of the first_seen table (the
    kept map is used), and the loaded map cannot be modified in place."""
    seen = {f"F{i}": T0 + timedelta(seconds=i) for i in range(500)}
    store.save("L", {}, seen, "t1")
    reads: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, _p: Any, _ctx: Any, _many: bool) -> None:
        if statement.lower().startswith("select") and "from first_seen" in statement.lower():
            reads.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    loaded = store.load("L").first_seen
    assert dict(loaded) == seen
    store.save("L", {}, {**seen, "F9999": T0}, "t2")
    assert dict(store.load("L").first_seen) == {**seen, "F9999": T0}
    assert reads == []
    with pytest.raises(TypeError):
        loaded["F0"] = T0  # type: ignore[index]


def test_steady_save_writes_only_changed_values(store: StateStore) -> None:
    """Re-saving the same observations writes nothing; one changed value writes one row."""
    observed = {f"XS{i:05d}": {"s": "合作中", "n": str(i)} for i in range(2_000)}
    store.save("L", observed, {}, "t1")
    counter = WriteCounter(store)
    store.save("L", observed, {}, "t2")
    assert counter.rows == 0
    changed = {k: dict(v) for k, v in observed.items()}
    changed["XS00042"]["s"] = "流失客户"
    changed["XS01999"]["new"] = "x"
    store.save("L", changed, {}, "t3")
    assert counter.rows == 2
    assert store.load("L").watched == changed
    assert store.last_change_token("L") == "t3"


def test_saved_map_is_not_aliased_to_the_callers(store: StateStore) -> None:
    """Mutating the dicts passed to save() afterwards does not change what load() gives."""
    observed = {"K1": {"s": "a"}}
    store.save("L", observed, {}, None)
    observed["K1"]["s"] = "mutated"
    observed["K2"] = {"s": "b"}
    assert store.load("L").watched == {"K1": {"s": "a"}}


def test_loaded_watched_map_is_read_only(store: StateStore) -> None:
    """The watched map handed to rules cannot be modified in place."""
    store.save("L", {"K1": {"s": "a"}}, {}, None)
    watched = store.load("L").watched
    with pytest.raises(TypeError):
        watched["K2"] = {"s": "b"}  # type: ignore[index]


def test_old_database_without_generation_table_opens_and_keeps_values(
    tmp_path: Path,
) -> None:
    """A database written before watched_version existed keeps its watched values; the
    table is created on open and later saves and other writers work as usual."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    first = StateStore(url)
    first.save("L", {"K1": {"s": "a"}, "K2": {"s": "b"}}, {}, "t")
    first.close()
    raw = create_engine(url)
    with raw.begin() as conn:  # what a syncer from before migrations and generations made
        for table in (
            "watched_version",
            "alembic_version",
            "cycle_ticks",
            "ledger_dispatch",
            "rate_buckets",
        ):
            conn.execute(text(f"DROP TABLE {table}"))
    raw.dispose()
    reopened, other = StateStore(url), StateStore(url)
    try:
        assert reopened.load("L").watched == {"K1": {"s": "a"}, "K2": {"s": "b"}}
        other.save("L", {"K2": {"s": "c"}}, {}, "t2")
        assert reopened.load("L").watched == {"K1": {"s": "a"}, "K2": {"s": "c"}}
        reopened.save("L", {"K1": {"s": "d"}}, {}, "t3")
        assert other.load("L").watched == {"K1": {"s": "d"}, "K2": {"s": "c"}}
    finally:
        reopened.close()
        other.close()


def test_broken_tables_are_a_state_error_naming_the_ledger(urls: Urls, backend: str) -> None:
    """A database whose tables were damaged fails with StateError naming the ledger."""
    store = StateStore(urls.private(backend))
    try:
        store.save("sales", {"K1": {"s": "a"}}, {}, None)
        with store.engine.begin() as conn:
            conn.execute(text("DROP TABLE watched"))
        with pytest.raises(StateError, match="'sales'"):
            store.save("sales", {"K1": {"s": "b"}}, {}, None)
        with pytest.raises(StateError, match="could not read"):
            store.load("sales")
    finally:
        store.close()


def test_journal_failures_name_the_database_with_its_password_masked(
    urls: Urls, backend: str
) -> None:
    """Reading, updating and pruning a broken journal fail with StateError naming the
    ledger and the database as the store shows it, never the password in its URL."""
    store = StateStore(urls.private(backend))
    try:
        url = "postgresql+psycopg://syncer:s3cret@db.example/state"
        store.url, store.shown = url, display_url(url)  # messages only; the engine stays
        journal = Journal(store)
        journal.begin("sales", "c1", T0, Intent(), 1)
        journal.finish("sales", "c1", T0)  # closed: the prune below selects it
        with store.engine.begin() as conn:
            conn.execute(text("DROP TABLE journal_intents"))
        failing = [
            lambda: journal.entries("sales"),
            lambda: journal.revise("sales", "c1", Intent()),
            lambda: journal.prune("sales", T0 + timedelta(days=1), 0),
        ]
        for call in failing:
            with pytest.raises(StateError) as info:
                call()
            assert "syncer:***@db.example" in str(info.value)
            assert "s3cret" not in str(info.value)
            assert "'sales'" in str(info.value)
    finally:
        store.close()


def test_rejected_save_leaves_nothing_half_written(store: StateStore) -> None:
    """A save rolled back by a bad timestamp leaves the previous watched values, for this
    store and for a fresh one."""
    store.save("L", {"K1": {"s": "a"}}, {}, "t1")
    store.load("L")
    with pytest.raises(ValueError, match="timezone-aware"):
        store.save("L", {"K1": {"s": "b"}, "K2": {"s": "c"}}, {"x": datetime(2024, 1, 1)}, None)
    assert store.load("L").watched == {"K1": {"s": "a"}}
    fresh = StateStore(store.url)
    try:
        assert fresh.load("L").watched == {"K1": {"s": "a"}}
    finally:
        fresh.close()
