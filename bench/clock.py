"""`make bench`, the clock: the worker's sweep over 1,000,000 open cases of which 10,000 are due.

Writes a large open backlog straight into PostgreSQL (INSERT … SELECT generate_series: cases, their
lead assignments, three events each, the timers the planner gives them and the dispatch message
each sent its unit), then measures

- the idle sweep: `fire_due_timers()` when nothing is due, and its selecting query alone
  (`EXPLAIN ANALYZE`: it must be served by the partial index `timer_pending_idx`), median and p95;
- the due set: N worker processes (`civicgrid worker --until-idle`) started together; the time until
  every due timer has fired, and until the workers are idle (outbox delivered too).

Then it checks that each due timer fired once, each fired timer wrote one event, and every case's
events are numbered without gaps. Figures print and go to build/bench/clock.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from bench.intake import _libpq_url, bench_urls, cmd_createdb, machine_info

OUT = Path("build/bench")
STREETS, COMMUNITIES_PER_STREET, GRIDS_PER_COMMUNITY, DEPARTMENTS = 4, 6, 8, 20


def _setup_django(db_url: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.settings")
    import django

    django.setup()


def setup_tree() -> dict[str, Any]:
    """A district with its streets, communities, grids and departments, and staff on each unit."""
    from civicgrid.accounts.models import Role, User
    from civicgrid.accounts.services import post_grant
    from civicgrid.catalogue.models import Domain, Item
    from civicgrid.org.models import Unit

    district = Unit.objects.create(code="BC", name="基准区", kind=Unit.Kind.DISTRICT)
    grids: list[Unit] = []
    for s in range(STREETS):
        street = Unit.objects.create(code=f"BC{s}", name=f"街道{s}", kind=Unit.Kind.STREET, parent=district)
        for c in range(COMMUNITIES_PER_STREET):
            community = Unit.objects.create(
                code=f"BC{s}{c}", name=f"社区{s}{c}", kind=Unit.Kind.COMMUNITY, parent=street
            )
            for g in range(GRIDS_PER_COMMUNITY):
                grids.append(
                    Unit.objects.create(
                        code=f"BC{s}{c}{g}",
                        name=f"网格{s}{c}{g}",
                        kind=Unit.Kind.GRID,
                        category="general",
                        parent=community,
                    )
                )
    departments = [
        Unit.objects.create(code=f"BD{d:02d}", name=f"部门{d}", kind=Unit.Kind.DEPARTMENT, parent=district)
        for d in range(DEPARTMENTS)
    ]
    for unit in departments:
        for n in range(2):
            user = User.objects.create_user(username=f"{unit.code.lower()}-{n}", password=None)
            post_grant(user=user, unit=unit, role=Role.HANDLER)
    for role in (Role.DISPATCHER, Role.SUPERVISOR):
        user = User.objects.create_user(username=f"bench-{role}", password=None)
        post_grant(user=user, unit=district, role=role)
    domain = Domain.objects.create(code="BD", name="综合执法", order=1)
    item = Item.objects.create(
        code="B-001",
        name="占道经营",
        domain=domain,
        level=3,
        handler_level="department",
        handler_department="BD00",
        response_hours=24,
        resolve_days=7,
        colour="blue",
    )
    return {
        "grids": [g.pk for g in grids],
        "departments": [d.pk for d in departments],
        "district": district.pk,
        "item": item.pk,
    }


# Cases 1..due/2 wait for their lead's acknowledgement and are past 75 % of the response time
# (a response warning is due); cases due/2+1..due are in progress and past their resolution
# deadline (an overdue supervision is due); the rest are in progress with deadlines ahead.
CASES_SQL = """
INSERT INTO cases_case (id, number, tracking_code, kind, title, description, address, channel,
  proactive, reporter_name, reporter_phone, reporter_anonymous, reporter_confidential, status,
  created_at, accepted_at, respond_by, resolve_by, version, last_seq, item_id, owner_id, place_id,
  supervision)
SELECT i, 'B' || lpad(i::text, 9, '0'), 'T' || lpad(i::text, 9, '0'), 'complaint', '占道经营',
  '基准诉求', '基准路' || i || '号', 'hotline', false, '', '', false, false,
  CASE WHEN i <= %(half)s THEN 'dispatched' ELSE 'in_progress' END,
  t.created, t.created, t.created + interval '24 hours', t.resolve_by, 3, 3, %(item)s,
  (%(departments)s::bigint[])[1 + i %% %(n_departments)s], (%(grids)s::bigint[])[1 + i %% %(n_grids)s], ''
FROM generate_series(1, %(cases)s) AS i,
LATERAL (SELECT
  CASE WHEN i <= %(half)s THEN %(now)s::timestamptz - interval '20 hours'
       WHEN i <= %(due)s THEN %(now)s::timestamptz - interval '10 days'
       ELSE %(now)s::timestamptz - (i %% 48) * interval '1 hour' END AS created,
  CASE WHEN i <= %(half)s THEN %(now)s::timestamptz + interval '9 days'
       WHEN i <= %(due)s THEN %(now)s::timestamptz - interval '1 hour'
       ELSE %(now)s::timestamptz + interval '8 days' + (i %% 48) * interval '1 hour' END AS resolve_by
) AS t
"""

ASSIGNMENTS_SQL = """
INSERT INTO cases_assignment (id, role, status, active, dispatched_at, respond_by, resolve_by,
  acknowledged_at, case_id, unit_id)
SELECT c.id, 'lead', CASE WHEN c.status = 'dispatched' THEN 'pending' ELSE 'acknowledged' END, true,
  c.accepted_at, c.respond_by, c.resolve_by,
  CASE WHEN c.status = 'dispatched' THEN NULL ELSE c.accepted_at + interval '1 hour' END, c.id, c.owner_id
FROM cases_case c
"""

EVENTS_SQL = """
INSERT INTO cases_event (case_id, seq, action, from_status, to_status, note, data, public, at, unit_id)
SELECT c.id, s.seq, s.action, s.from_status, s.to_status, '', '{}'::jsonb, true,
  c.created_at + (s.seq - 1) * interval '1 minute', c.owner_id
FROM cases_case c CROSS JOIN (VALUES (1, 'create', '', 'submitted'), (2, 'accept', 'submitted', 'accepted'),
  (3, 'dispatch', 'accepted', 'dispatched')) AS s(seq, action, from_status, to_status)
"""

# The timers the planner gives such cases; only the due set's first timer lies in the past.
TIMERS_SQL = """
INSERT INTO cases_timer (case_id, assignment_id, rule, due_at, fired_at)
SELECT a.case_id, a.id, 'response_warning',
  a.dispatched_at + (a.respond_by - a.dispatched_at) * 0.75, NULL::timestamptz
FROM cases_assignment a WHERE a.status = 'pending'
UNION ALL
SELECT a.case_id, a.id, 'response_overdue', a.respond_by, NULL
FROM cases_assignment a WHERE a.status = 'pending'
UNION ALL
SELECT a.case_id, a.id, 'resolution_warning',
  a.dispatched_at + (a.resolve_by - a.dispatched_at) * 0.75,
  CASE WHEN a.resolve_by < %(now)s THEN a.dispatched_at + (a.resolve_by - a.dispatched_at) * 0.75 END
FROM cases_assignment a
UNION ALL
SELECT c.id, NULL, 'overdue', c.resolve_by, NULL FROM cases_case c
UNION ALL
SELECT c.id, NULL, 'escalation', c.resolve_by + interval '1 day', NULL FROM cases_case c
"""

# What the backlog's dispatches told their units: an inbox message each, placed and read. A running
# system has this history; without it the planner takes the outbox's tables for empty and checks
# the new rows' foreign keys by scanning them.
MESSAGES_SQL = """
INSERT INTO notify_message (id, transport, template, phone, email, subject, body, payload, status,
  attempts, next_attempt_at, sent_at, last_error, created_at, case_id, event_id, user_id)
SELECT e.case_id, 'inbox', 'dispatch', '', '', '新派单：' || c.number, '基准派单通知', '{}'::jsonb, 'sent',
  1, e.at, e.at, '', e.at, e.case_id, e.id, p.user_id
FROM cases_event e JOIN cases_case c ON c.id = e.case_id
JOIN (SELECT DISTINCT ON (unit_id) unit_id, user_id FROM accounts_post ORDER BY unit_id, user_id) p
  ON p.unit_id = c.owner_id
WHERE e.seq = 3
"""

INBOX_SQL = """
INSERT INTO notify_inboxitem (id, subject, body, created_at, read_at, case_id, user_id, message_id)
SELECT id, subject, body, created_at, created_at + interval '2 hours', case_id, user_id, id
FROM notify_message
"""

DELIVERIES_SQL = """
INSERT INTO notify_delivery (id, message_id, attempt, at, ok, detail)
SELECT id, id, 1, sent_at, true, 'inbox' FROM notify_message
"""


def populate(db_url: str, cases: int, due: int, ids: dict[str, Any], now: datetime) -> dict[str, float]:
    """Write the backlog with set-based SQL; return seconds per table."""
    params = {
        "cases": cases,
        "due": due,
        "half": due // 2,
        "now": now,
        "item": ids["item"],
        "departments": ids["departments"],
        "n_departments": len(ids["departments"]),
        "grids": ids["grids"],
        "n_grids": len(ids["grids"]),
    }
    took: dict[str, float] = {}
    with psycopg.connect(_libpq_url(db_url), autocommit=True) as conn:
        for name, statement in (
            ("cases", CASES_SQL),
            ("assignments", ASSIGNMENTS_SQL),
            ("events", EVENTS_SQL),
            ("timers", TIMERS_SQL),
            ("messages", MESSAGES_SQL),
            ("inbox items", INBOX_SQL),
            ("deliveries", DELIVERIES_SQL),
        ):
            started = time.perf_counter()
            conn.execute(statement, params)
            took[name] = round(time.perf_counter() - started, 1)
            print(f"bench: {name} written in {took[name]} s", flush=True)
        for table in (
            "cases_case",
            "cases_assignment",
            "cases_event",
            "notify_message",
            "notify_inboxitem",
            "notify_delivery",
        ):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        conn.execute("VACUUM ANALYZE")
    return took


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1)]


def idle_sweep(repeats: int) -> dict[str, Any]:
    """Time the sweep when nothing is due, as the worker runs it between bursts of work."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from civicgrid import clock
    from civicgrid.cases.jobs import fire_due_timers

    quiet = clock.now() - timedelta(days=3)  # before anything in the backlog was due
    job_ms: list[float] = []
    with clock.at(quiet):
        for _ in range(repeats):
            started = time.perf_counter()
            found = fire_due_timers()
            job_ms.append((time.perf_counter() - started) * 1000)
            assert not found, "the idle sweep found work"
        with CaptureQueriesContext(connection) as captured:
            fire_due_timers()
    selecting = next(q["sql"] for q in captured.captured_queries if "cases_timer" in q["sql"])
    query_ms: list[float] = []
    plan = ""
    with connection.cursor() as cursor:
        for _ in range(repeats):
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + selecting)
            (explained,) = cursor.fetchone()
            document = explained if isinstance(explained, list) else json.loads(explained)
            query_ms.append(float(document[0]["Execution Time"]) + float(document[0]["Planning Time"]))
        cursor.execute("EXPLAIN " + selecting)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return {
        "job_ms": {"median": round(statistics.median(job_ms), 2), "p95": round(_pct(job_ms, 95), 2)},
        "query_ms": {"median": round(statistics.median(query_ms), 3), "p95": round(_pct(query_ms, 95), 3)},
        "uses_partial_index": "timer_pending_idx" in plan,
        "plan": plan,
        "sql": selecting,
    }


def _count(db_url: str, query: str) -> int:
    with psycopg.connect(_libpq_url(db_url), autocommit=True) as conn:
        row = conn.execute(query).fetchone()
        return int(row[0]) if row else 0


def process_due(db_url: str, workers: int, due_timers: int, bin_dir: str) -> dict[str, Any]:
    """Start the workers together; time until every due timer fired and until they are idle."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "LOG_LEVEL": "WARNING",
        "CIVICGRID_WORKER_IDLE_SECONDS": "0",
        # The clock alone: the day's bulletins (timed by bench/stats.py) would otherwise be written
        # in between, as on a first start, where a running system wrote them at their hour.
        "CIVICGRID_BULLETINS_ENABLED": "false",
    }
    # The workers' own CPU time does not depend on what else the machine runs; the wall time does.
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [f"{bin_dir}/civicgrid", "worker", "--until-idle", "--skip-checks"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(OUT / f"clock-worker-{n}.log", "w"),  # noqa: SIM115
        )
        for n in range(workers)
    ]
    fired_at: float | None = None
    pending_due = "SELECT count(*) FROM cases_timer WHERE fired_at IS NULL AND due_at <= now()"
    while any(p.poll() is None for p in procs):
        if fired_at is None and _count(db_url, pending_due) == 0:
            fired_at = time.perf_counter() - started
        time.sleep(0.05)
    idle_at = time.perf_counter() - started
    if fired_at is None:
        fired_at = idle_at
    codes = [p.returncode for p in procs]
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {
        "workers": workers,
        "due_timers": due_timers,
        "seconds_to_fire_all": round(fired_at, 2),
        "timers_per_second": round(due_timers / fired_at, 1) if fired_at else None,
        "seconds_until_idle": round(idle_at, 2),
        "exit_codes": codes,
        # Firing and delivering together (the workers alternate both jobs); PostgreSQL's not included.
        "worker_cpu_seconds": round(cpu, 1),
        "worker_cpu_ms_per_timer": round(cpu / due_timers * 1000, 2) if due_timers else None,
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def check(db_url: str, due_timers: int, since: datetime) -> dict[str, Any]:
    """Each due timer fired once and wrote one event; events stay gap-free per case."""
    with psycopg.connect(_libpq_url(db_url), autocommit=True) as conn:

        def one(query: str, *args: Any) -> int:
            row = conn.execute(query, args).fetchone()
            return int(row[0]) if row else 0

        fired = one("SELECT count(*) FROM cases_timer WHERE fired_at >= %s", since)
        events = one(
            "SELECT count(*) FROM cases_event WHERE at >= %s AND actor_id IS NULL AND seq > 3", since
        )
        gaps = one(
            "SELECT count(*) FROM cases_case c WHERE c.last_seq <> "
            "(SELECT count(*) FROM cases_event e WHERE e.case_id = c.id AND e.seq <= c.last_seq) "
            "AND c.id <= %s",
            due_timers,
        )
        messages = one("SELECT count(*) FROM notify_message WHERE created_at >= %s", since)
        undelivered = one("SELECT count(*) FROM notify_message WHERE status <> 'sent'")
    ok = fired == due_timers and events == due_timers and gaps == 0 and undelivered == 0
    return {
        "timers_fired": fired,
        "system_events": events,
        "cases_with_gaps": gaps,
        "messages": messages,
        "messages_not_sent": undelivered,
        "ok": ok,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server-url", required=True, help="any database on the PostgreSQL server")
    parser.add_argument("--name", default="civicgrid_bench_clock")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--bin", default=".venv/bin")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    # Production settings, as the workers run in production.
    os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_hex(16))
    os.environ.update({"DEBUG": "false", "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "127.0.0.1"})

    _admin, db_url = bench_urls(args.server_url, args.name)
    cmd_createdb(argparse.Namespace(server_url=args.server_url, name=args.name))
    env = {**os.environ, "DATABASE_URL": db_url}
    subprocess.run(
        [f"{args.bin}/civicgrid", "migrate", "--noinput", "--skip-checks"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    _setup_django(db_url)
    from django.utils import timezone

    ids = setup_tree()
    now = timezone.now()
    print(f"bench: writing {args.cases:,} open cases, {args.due:,} of them due", flush=True)
    written = populate(db_url, args.cases, args.due, ids, now)
    backlog = _count(db_url, "SELECT count(*) FROM cases_timer WHERE fired_at IS NULL")
    idle = idle_sweep(args.repeats)
    from django.db import connection

    connection.close()
    print(
        f"bench: idle sweep over {backlog:,} pending timers: query {idle['query_ms']['median']} ms "
        f"(p95 {idle['query_ms']['p95']}), whole job {idle['job_ms']['median']} ms; "
        f"partial index used: {idle['uses_partial_index']}",
        flush=True,
    )
    started_at = timezone.now()
    processed = process_due(db_url, args.workers, args.due, args.bin)
    integrity = check(db_url, args.due, started_at - timedelta(seconds=1))
    report = {
        "timestamp": started_at.isoformat(),
        "machine": machine_info(db_url),
        "config": {"cases": args.cases, "due": args.due, "workers": args.workers},
        "write_seconds": written,
        "pending_timers": backlog,
        "idle_sweep": idle,
        "processing": processed,
        "integrity": integrity,
        "target": {
            "idle_query_under_5_ms": idle["query_ms"]["median"] < 5,
            "due_set_under_10_s": processed["seconds_to_fire_all"] < 10,
        },
    }
    (OUT / "clock.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(
        f"bench: {args.due:,} due timers fired by {args.workers} workers in "
        f"{processed['seconds_to_fire_all']} s ({processed['timers_per_second']}/s); idle after "
        f"{processed['seconds_until_idle']} s (outbox delivered: {integrity['messages']:,} messages); "
        f"worker CPU {processed['worker_cpu_seconds']} s "
        f"({processed['worker_cpu_ms_per_timer']} ms a timer), "
        f"load average {processed['load_average_1m']}"
    )
    print(f"bench: integrity {'OK' if integrity['ok'] else 'FAILED'} {integrity}")
    print(f"bench: targets {report['target']}")
    return 0 if integrity["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
