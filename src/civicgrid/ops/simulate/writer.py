"""Writing simulated rows: COPY on PostgreSQL (a thread, while the next batch is made), executemany on SQLite.

Ids of cases, assignments and extension requests are drawn before their rows are written (events
and timers point at them): from the tables' sequences on PostgreSQL, on a side connection so live
writers are never blocked; above the tables' largest id on SQLite, whose write lock we hold anyway.
Events, timers and evaluations take their ids from the database; evaluations go through a staging
table and are joined to their events at the end.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

from django.db import connection

from civicgrid.cases.models import Assignment, Case, Evaluation, Event, ExtensionRequest, Timer
from civicgrid.ops.simulate import rows

TABLES = {
    "case": (Case._meta.db_table, rows.CASE_COLUMNS),
    "event": (Event._meta.db_table, rows.EVENT_COLUMNS),
    "assignment": (Assignment._meta.db_table, rows.ASSIGNMENT_COLUMNS),
    "rating": ("sim_rating", rows.RATING_COLUMNS),
    "extension": (ExtensionRequest._meta.db_table, rows.EXTENSION_COLUMNS),
    "timer": (Timer._meta.db_table, rows.TIMER_COLUMNS),
}
ID_TABLES = {"case": Case._meta.db_table, "assignment": Assignment._meta.db_table,
             "extension": ExtensionRequest._meta.db_table}  # fmt: skip
STAGING = {
    "postgresql": (
        "CREATE TEMPORARY TABLE sim_rating (case_id bigint, event_seq integer, satisfaction varchar(12), "
        "solved boolean, comment text, channel varchar(10), resolution_seq integer, at timestamptz) "
        "ON COMMIT DROP"
    ),
    "sqlite": (
        "CREATE TEMPORARY TABLE sim_rating (case_id integer, event_seq integer, satisfaction text, "
        "solved integer, comment text, channel text, resolution_seq integer, at text)"
    ),
}
RATINGS_IN = (
    f"INSERT INTO {Evaluation._meta.db_table} "
    "(case_id, event_id, satisfaction, solved, comment, channel, resolution_seq, at) "
    "SELECT r.case_id, e.id, r.satisfaction, r.solved, r.comment, r.channel, r.resolution_seq, r.at "
    f"FROM sim_rating r JOIN {Event._meta.db_table} e ON e.case_id = r.case_id AND e.seq = r.event_seq"
)
POOL = 20_000  # ids drawn from a sequence at a time


class Sink:
    """Buffers rows per table and writes them a batch at a time, inside the caller's transaction."""

    def __init__(self) -> None:
        self.buffers: dict[str, list[Any]] = {name: [] for name in TABLES}
        self.counts: dict[str, int] = dict.fromkeys(TABLES, 0)
        vendor = "postgresql" if connection.vendor == "postgresql" else "sqlite"
        with connection.cursor() as cursor:
            cursor.execute(STAGING[vendor])
        make = rows.copy_formatter if vendor == "postgresql" else rows.sqlite_formatter
        self.formats = {name: make(list(columns)) for name, (_table, columns) in TABLES.items()}

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.buffers[table].append(self.formats[table](row))

    def flush(self) -> None:
        for name, buffered in self.buffers.items():
            if buffered:
                self.counts[name] += len(buffered)
                self._write(name, buffered)
                self.buffers[name] = []

    def finish(self) -> None:
        """Write what is left, then the evaluations, joined to their events."""
        self.flush()
        self._drain()
        with connection.cursor() as cursor:
            cursor.execute(RATINGS_IN)
            cursor.execute("DROP TABLE sim_rating")

    def new_id(self, table: str) -> int:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the sink holds (threads, side connections), also after a failure."""

    def _write(self, name: str, buffered: list[Any]) -> None:
        raise NotImplementedError

    def _drain(self) -> None:
        """Wait until everything handed over is written."""


class SqliteSink(Sink):
    def __init__(self) -> None:
        super().__init__()
        self.next: dict[str, int] = {}
        with connection.cursor() as cursor:
            for name, table in ID_TABLES.items():
                cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
                highest = int(cursor.fetchone()[0])
                cursor.execute("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = %s", [table])
                self.next[name] = max(highest, int(cursor.fetchone()[0])) + 1

    def new_id(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value

    def _write(self, name: str, buffered: list[Any]) -> None:
        table, columns = TABLES[name]
        marks = ", ".join(["%s"] * len(columns))
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", buffered)


class PostgresSink(Sink):
    """COPY from a writer thread on the transaction's own connection; ids from a side connection."""

    def __init__(self, *, references: dict[str, list[int]]) -> None:
        super().__init__()
        _defer_reference_checks(references)
        self.raw = connection.connection
        self.side = connection.get_new_connection(connection.get_connection_params())
        self.side.autocommit = True
        self.sequences = {name: self._sequence(table) for name, table in ID_TABLES.items()}
        self.pools: dict[str, Iterator[int]] = {name: iter(()) for name in ID_TABLES}
        self.queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=6)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._copy_loop, name="simulate-copy", daemon=True)
        self.thread.start()

    def _sequence(self, table: str) -> str:
        row = self.side.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table]).fetchone()
        assert row is not None and row[0], table
        return str(row[0])

    def new_id(self, table: str) -> int:
        value = next(self.pools[table], None)
        if value is None:
            rows_ = self.side.execute(
                "SELECT array_agg(nextval(%s)) FROM generate_series(1, %s)", [self.sequences[table], POOL]
            ).fetchone()
            assert rows_ is not None
            self.pools[table] = iter(rows_[0])
            value = next(self.pools[table])
        return int(value)

    def _write(self, name: str, buffered: list[Any]) -> None:
        table, columns = TABLES[name]
        if self.error is not None:
            raise self.error
        self.queue.put((f"COPY {table} ({', '.join(columns)}) FROM STDIN", "".join(buffered).encode()))

    def _copy_loop(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is not None:
                continue  # keep taking work so the producer never blocks; it sees the error
            statement, payload = item
            try:
                with self.raw.cursor() as cursor, cursor.copy(statement) as copy:
                    copy.write(payload)
            except BaseException as error:
                self.error = error

    def _drain(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
        with connection.cursor() as cursor:
            # Whatever the transaction does after the run is checked as usual again.
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    def close(self) -> None:
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        self.side.close()


def _defer_reference_checks(references: dict[str, list[int]]) -> None:
    """Skip the per-row foreign-key triggers when the role may (a superuser, as pg_restore does).

    They would cost more than the COPY itself. Every id the run writes was read or drawn in this
    transaction; what a trigger also does, lock the rows pointed at against deletion until the commit,
    is done here once for the units, buildings, items and users the run may point at. Otherwise the
    checks run statement by statement, so the queue of pending checks never outgrows a batch.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        if not (row and row[0]):
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            return
        for table, ids in references.items():
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = ANY(%s) FOR KEY SHARE", [ids])
        cursor.execute("SET LOCAL session_replication_role = replica")


def open_sink(*, references: dict[str, list[int]]) -> Sink:
    """`references`: table → ids the run's rows may point at (locked as foreign keys would)."""
    return PostgresSink(references=references) if connection.vendor == "postgresql" else SqliteSink()
