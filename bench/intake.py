"""Sustained case intake through `POST /api/v1/cases`, against the raw-SQL ceiling of the same writes.

`make bench` runs bench/run.sh, which calls these steps in order (docs/benchmarks.md has the story):

    createdb  drop and recreate the bench database, print its URL
    setup     (Django) a district → street → community → grid, a building, an item, a dispatcher
              with a token; written to setup.json
    freeport  print a free TCP port on 127.0.0.1 for gunicorn
    load      wait for the server, warm up, drive C closed-loop clients for D seconds; load.json
    finish    integrity check, SQL ceiling (1 and N connections), the report: intake.json

Only the standard library, httpx and psycopg are used outside `setup`, so the load generator
stays light; its own CPU use is measured and reported next to the server's and PostgreSQL's.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import resource
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import httpx
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

API_PATH = "/api/v1/cases"
TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # as civicgrid.cases.models
CLK_TCK = os.sysconf("SC_CLK_TCK")
TARGET_RATE = 300.0  # cases/s, from the issue
TARGET_P99_MS = 100.0

# The codes of the minimal tree `setup` creates; the request body and the ceiling rows use them.
DISTRICT, STREET, COMMUNITY, GRID = "BX", "BX-S1", "BX-S1-C1", "BX-S1-C1-G1"
BUILDING, DOMAIN, ITEM = "BX-B-0001", "BXZF", "BXZF-301"
USERNAME = "bench-dispatcher"


# ---------------------------------------------------------------------------------------------
# Small helpers


def _die(message: str) -> NoReturn:
    print(f"bench: {message}", file=sys.stderr)
    raise SystemExit(1)


def _libpq_url(url: str) -> str:
    """dj-database-url accepts postgres://; so does libpq, but say it the canonical way."""
    return "postgresql://" + url.split("://", 1)[1] if url.startswith("postgres://") else url


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def bench_urls(server_url: str, name: str) -> tuple[str, str]:
    """(maintenance URL, bench database URL) on the server of `server_url` (any database on it)."""
    parts = urlsplit(server_url)
    if parts.scheme not in ("postgres", "postgresql"):
        _die(f"DATABASE_URL must be a PostgreSQL URL (postgres://…), not {parts.scheme}://…")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        _die(f"bad database name {name!r}")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    bench = urlunsplit(parts._replace(path="/" + name))
    return admin, bench


def percentile(ordered: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (0 when empty)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    mean = sum(ordered) / len(ordered) if ordered else 0.0
    return {
        "p50_ms": round(percentile(ordered, 50) * 1000, 2),
        "p90_ms": round(percentile(ordered, 90) * 1000, 2),
        "p99_ms": round(percentile(ordered, 99) * 1000, 2),
        "max_ms": round((ordered[-1] if ordered else 0.0) * 1000, 2),
        "mean_ms": round(mean * 1000, 2),
    }


def local_day(moment: datetime) -> date:
    """The day a case number is counted on: the app's TIME_ZONE (settings default Asia/Shanghai)."""
    return moment.astimezone(ZoneInfo(os.environ.get("TIME_ZONE") or "Asia/Shanghai")).date()


# ---------------------------------------------------------------------------------------------
# CPU accounting from /proc: who used the 2 cores while the load ran


@dataclass(frozen=True)
class CpuSample:
    at: float  # time.monotonic()
    machine_busy: float  # seconds of CPU, all cores, all processes (/proc/stat)
    machine_total: float  # busy + idle + iowait
    generator: float  # this process (all threads)
    server: float  # gunicorn master and its workers
    server_processes: int
    postgres: float  # our database's backends and the server's own processes (walwriter…)
    postgres_processes: int


def _other_database_backend(pid: int, database: str | None) -> bool:
    """A PostgreSQL backend serving another database than ours (someone else's tests, say).

    Backends retitle themselves "postgres: 15/main: USER DATABASE HOST(PORT) STATE"; the server's
    own processes (walwriter, checkpointer…) read "postgres: 15/main: walwriter" and count as ours.
    """
    if database is None:
        return False
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    words = title.split(": ", 2)[-1].split()
    return len(words) >= 3 and "(" in words[2] and words[1] != database


def _proc_stats() -> list[tuple[int, str, int, float]]:
    """(pid, comm, ppid, cpu seconds) of every process we can read."""
    found: list[tuple[int, str, int, float]] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2 :].split()
        # rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
        found.append((int(entry), comm, int(rest[1]), (int(rest[11]) + int(rest[12])) / CLK_TCK))
    return found


def cpu_sample(server_pid: int | None, database: str | None = None) -> CpuSample:
    """CPU seconds used so far: the machine, this process, gunicorn, and PostgreSQL serving
    `database` (backends of other databases are left to "other")."""
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already inside user)
    idle = ticks[3] + ticks[4]
    busy = sum(ticks[:8]) - idle
    server = postgres = 0.0
    n_server = n_postgres = 0
    for pid, comm, ppid, seconds in _proc_stats():
        if server_pid is not None and (pid == server_pid or ppid == server_pid):
            server += seconds
            n_server += 1
        elif comm == "postgres" and not _other_database_backend(pid, database):
            postgres += seconds
            n_postgres += 1
    return CpuSample(
        at=time.monotonic(),
        machine_busy=busy / CLK_TCK,
        machine_total=(busy + idle) / CLK_TCK,
        generator=time.process_time(),
        server=server,
        server_processes=n_server,
        postgres=postgres,
        postgres_processes=n_postgres,
    )


def cpu_breakdown(before: CpuSample, after: CpuSample, completed: int) -> dict[str, Any]:
    """Cores busy (CPU seconds per wall second) by party, and CPU milliseconds per case."""
    wall = after.at - before.at
    cores = os.cpu_count() or 1

    def busy(seconds: float) -> float:
        return round(seconds / wall, 3) if wall > 0 else 0.0

    machine = after.machine_busy - before.machine_busy
    gen = after.generator - before.generator
    srv = after.server - before.server
    pg = after.postgres - before.postgres
    per_case = 1000.0 / completed if completed else 0.0
    return {
        "cores": cores,
        "cores_busy": {
            "all": busy(machine),
            "gunicorn": busy(srv),
            "postgres": busy(pg),
            "generator": busy(gen),
            "other": busy(max(machine - srv - pg - gen, 0.0)),
        },
        "machine_utilisation": round(machine / (after.machine_total - before.machine_total), 3)
        if after.machine_total > before.machine_total
        else 0.0,
        "cpu_ms_per_case": {
            "gunicorn": round(srv * per_case, 3),
            "postgres": round(pg * per_case, 3),
            "generator": round(gen * per_case, 3),
        },
        "processes": {"gunicorn": after.server_processes, "postgres": after.postgres_processes},
    }


# ---------------------------------------------------------------------------------------------
# createdb / setup / freeport


def cmd_createdb(args: argparse.Namespace) -> int:
    admin, bench = bench_urls(args.server_url, args.name)
    if _database_name(args.server_url) == args.name:
        _die(f"DATABASE_URL names the bench database {args.name} itself; give another database")
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError:  # no "postgres" database: use the one DATABASE_URL names
        conn = psycopg.connect(_libpq_url(args.server_url), autocommit=True, connect_timeout=5)
    with conn:
        name = sql.Identifier(args.name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    print(bench)
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    """The smallest tree a case can be filed in, and the dispatcher who files them (via Django)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.settings")
    import django

    django.setup()
    from civicgrid.accounts.models import Role, User
    from civicgrid.accounts.services import post_grant, token_create
    from civicgrid.catalogue.models import Domain, Item
    from civicgrid.org.models import Building, Unit

    district = Unit.objects.create(code=DISTRICT, name="基准区", kind=Unit.Kind.DISTRICT)
    street = Unit.objects.create(code=STREET, name="基准街道", kind=Unit.Kind.STREET, parent=district)
    community = Unit.objects.create(code=COMMUNITY, name="基准社区", kind=Unit.Kind.COMMUNITY, parent=street)
    grid = Unit.objects.create(
        code=GRID, name="基准一网格", kind=Unit.Kind.GRID, category="general", parent=community
    )
    Unit.objects.create(code="D-CG", name="城管局", kind=Unit.Kind.DEPARTMENT, parent=district)
    building = Building.objects.create(grid=grid, code=BUILDING, name="基准1号楼", address="基准路1号")
    domain = Domain.objects.create(code=DOMAIN, name="综合执法", order=1)
    item = Item.objects.create(
        code=ITEM,
        name="占道经营",
        domain=domain,
        level=3,
        handler_level="department",
        handler_department="D-CG",
        response_hours=24,
        resolve_days=7,
        colour="blue",
    )
    user = User.objects.create_user(username=USERNAME, password=None, display_name="基准受理员")
    post_grant(user=user, unit=district, role=Role.DISPATCHER)
    setup = {
        "token": token_create(user=user),
        "user_id": user.pk,
        "grid": GRID,
        "grid_id": grid.pk,
        "building": BUILDING,
        "building_id": building.pk,
        "item": ITEM,
        "item_id": item.pk,
    }
    Path(args.out).write_text(json.dumps(setup, indent=2) + "\n")
    print(f"setup: grid {GRID}, building {BUILDING}, item {ITEM}, user {USERNAME} (dispatcher) + token")
    return 0


def cmd_freeport(args: argparse.Namespace) -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        print(sock.getsockname()[1])
    return 0


# ---------------------------------------------------------------------------------------------
# load: closed-loop clients against the running server


def request_bodies(setup: dict[str, Any], count: int = 256) -> list[bytes]:
    """Realistic hotline submissions, varied a little (phone, text) so no two rows are identical."""
    bodies = []
    for i in range(count):
        body = {
            "kind": "complaint",
            "title": "占道经营",
            "description": f"{BUILDING} 门前有人占道摆摊，影响通行（基准 #{i}）",
            "item": setup["item"],
            "grid": setup["grid"],
            "building": setup["building"],
            "address": "基准路1号东侧",
            "lat": 39.9405,
            "lon": 116.3701,
            "channel": "hotline",
            "reporter": {"name": "张三", "phone": f"+86 138-1234-{i:04d}"},
        }
        bodies.append(json.dumps(body, ensure_ascii=False).encode())
    return bodies


@dataclass
class ClientLog:
    """One client's requests: (finished at, latency, status); status -1 is a transport error."""

    samples: list[tuple[float, float, int]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


def raw_request(*, host: str, token: str, body: bytes, key: str | None) -> bytes:
    """The bytes of one POST, as any HTTP/1.1 client sends them (`Connection: close`: sync
    gunicorn workers close after every answer anyway)."""
    head = (
        f"POST {API_PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: civicgrid-bench\r\n"
        f"Accept: */*\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
        + (f"Idempotency-Key: {key}\r\n" if key else "")
        + "\r\n"
    )
    return head.encode() + body


def socket_post(address: tuple[str, int], request: bytes, timeout: float = 30.0) -> tuple[int, bytes]:
    """Send one request on a new connection and read the answer to the end: (status, answer)."""
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    if not answer.startswith(b"HTTP/1."):
        raise OSError(f"not an HTTP answer: {answer[:40]!r}")
    return int(answer[9:12]), answer


def client_loop(
    *,
    index: int,
    base_url: str,
    token: str,
    bodies: list[bytes],
    start_at: float,
    stop_at: float,
    idempotency: bool,
    log: ClientLog,
    transport: str = "socket",
) -> None:
    """Send the next request as soon as the previous answer is in, until stop_at (closed loop)."""
    if transport == "socket":
        socket_loop(
            index=index,
            base_url=base_url,
            token=token,
            bodies=bodies,
            start_at=start_at,
            stop_at=stop_at,
            idempotency=idempotency,
            log=log,
        )
        return
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with httpx.Client(base_url=base_url, headers=headers, timeout=30.0, limits=limits) as client:
        delay = start_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        n = index  # clients start at different bodies
        while True:
            began = time.perf_counter()
            if began >= stop_at:
                return
            extra = {"Idempotency-Key": f"bench-{index}-{n}"} if idempotency else None
            try:
                response = client.post(API_PATH, content=bodies[n % len(bodies)], headers=extra)
                status = response.status_code
                if status != 201:
                    log.errors[f"HTTP {status}: {response.text[:200]}"] += 1
            except httpx.HTTPError as error:
                status = -1
                log.errors[f"{type(error).__name__}: {error}"[:200]] += 1
            ended = time.perf_counter()
            log.samples.append((ended, ended - began, status))
            n += 1


def socket_loop(
    *,
    index: int,
    base_url: str,
    token: str,
    bodies: list[bytes],
    start_at: float,
    stop_at: float,
    idempotency: bool,
    log: ClientLog,
) -> None:
    """client_loop over plain sockets: a connection per request, as httpx has with sync workers,
    for a fraction of httpx's CPU (the generator shares the machine's cores with the server)."""
    parts = urlsplit(base_url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    host = parts.netloc
    prepared = [raw_request(host=host, token=token, body=body, key=None) for body in bodies]
    delay = start_at - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
    n = index
    while True:
        began = time.perf_counter()
        if began >= stop_at:
            return
        body = bodies[n % len(bodies)]
        request = (
            raw_request(host=host, token=token, body=body, key=f"bench-{index}-{n}")
            if idempotency
            else prepared[n % len(prepared)]
        )
        try:
            status, answer = socket_post(address, request)
            if status != 201:
                text = answer.partition(b"\r\n\r\n")[2].decode(errors="replace")
                log.errors[f"HTTP {status}: {text[:200]}"] += 1
        except OSError as error:
            status = -1
            log.errors[f"{type(error).__name__}: {error}"[:200]] += 1
        ended = time.perf_counter()
        log.samples.append((ended, ended - began, status))
        n += 1


def wait_until_ready(base_url: str, server_pid: int | None, timeout: float = 60.0) -> float:
    """Seconds until the server answered anything over HTTP; exits when it died or never answered."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if server_pid is not None and not Path(f"/proc/{server_pid}").exists():
            _die(f"gunicorn (pid {server_pid}) exited before answering; see build/bench/gunicorn.log")
        try:
            httpx.get(base_url + "/api/v1/openapi.json", timeout=2.0)
            return time.monotonic() - began
        except httpx.HTTPError:
            time.sleep(0.2)
    _die(f"no answer from {base_url} within {timeout:.0f} s")


class WaitSampler(threading.Thread):
    """Samples pg_stat_activity of the bench database 10 times a second while the load runs:
    how many backends are busy, and how many of those wait for a lock (the day counter's row)."""

    def __init__(self, db_url: str) -> None:
        super().__init__(daemon=True)
        self.db_url = db_url
        self.stop = threading.Event()
        self.samples: list[tuple[int, int]] = []  # (active, waiting on a lock)
        self.waits: Counter[str] = Counter()

    def run(self) -> None:
        with psycopg.connect(_libpq_url(self.db_url), autocommit=True) as conn:
            while not self.stop.wait(0.1):
                rows = conn.execute(
                    "SELECT wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'"
                ).fetchall()
                locked = sum(1 for kind, _event in rows if kind == "Lock")
                self.samples.append((len(rows), locked))
                self.waits.update(f"{kind}:{event}" for kind, event in rows if kind)

    def summary(self) -> dict[str, Any]:
        n = len(self.samples) or 1
        return {
            "samples": len(self.samples),
            "mean_active_backends": round(sum(a for a, _ in self.samples) / n, 2),
            "mean_waiting_on_lock": round(sum(w for _, w in self.samples) / n, 2),
            "wait_events": dict(self.waits.most_common(6)),
        }


def background_load(seconds: float = 2.0) -> float:
    """Cores busy on the machine with the server idle: anything else running spoils the figures."""
    before = cpu_sample(None)
    time.sleep(seconds)
    after = cpu_sample(None)
    return round((after.machine_busy - before.machine_busy) / (after.at - before.at), 3)


def cmd_load(args: argparse.Namespace) -> int:
    setup = json.loads(Path(args.setup).read_text())
    ready_after = wait_until_ready(args.url, args.server_pid)
    print(
        f"load: server answered after {ready_after:.1f} s; {args.clients} clients, "
        f"{args.warmup:g} s warm-up + {args.duration:g} s measured"
    )
    background = background_load()
    print(f"load: machine busy {background} cores before the load (should be near 0)")
    bodies = request_bodies(setup)
    logs = [ClientLog() for _ in range(args.clients)]
    sampler = WaitSampler(args.db_url) if args.db_url else None
    start_at = time.perf_counter() + 0.5
    window_start = start_at + args.warmup
    window_end = window_start + args.duration
    threads = [
        threading.Thread(
            target=client_loop,
            kwargs={
                "index": i,
                "base_url": args.url,
                "token": setup["token"],
                "bodies": bodies,
                "start_at": start_at,
                "stop_at": window_end,
                "idempotency": args.idempotency,
                "log": logs[i],
                "transport": args.transport,
            },
            daemon=True,
        )
        for i in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(max(window_start - time.perf_counter(), 0.0))
    database = _database_name(args.db_url) if args.db_url else None
    before = cpu_sample(args.server_pid, database)
    if sampler is not None:
        sampler.start()
    time.sleep(max(window_end - time.perf_counter(), 0.0))
    after = cpu_sample(args.server_pid, database)
    if sampler is not None:
        sampler.stop.set()
        sampler.join()
    for thread in threads:
        thread.join(timeout=60.0)
    alive = sum(thread.is_alive() for thread in threads)
    if alive:
        _die(f"{alive} clients still waiting for an answer 60 s after the end")

    # Then one client alone: the service time of a request without queueing behind others.
    solo = ClientLog()
    if args.solo > 0:
        solo_start = time.perf_counter()
        client_loop(
            index=args.clients,
            base_url=args.url,
            token=setup["token"],
            bodies=bodies,
            start_at=solo_start,
            stop_at=solo_start + args.solo,
            idempotency=args.idempotency,
            log=solo,
            transport=args.transport,
        )
    solo_ok = [latency for _at, latency, status in solo.samples if status == 201]

    samples = [s for log in [*logs, solo] for s in log.samples]
    in_window = [s for s in samples if window_start <= s[0] < window_end]
    ok = [latency for _at, latency, status in in_window if status == 201]
    errors: Counter[str] = Counter()
    for log in [*logs, solo]:
        errors.update(log.errors)
    per_second = [0] * max(1, math.ceil(args.duration))
    for at, _latency, status in in_window:
        if status == 201:
            per_second[min(int(at - window_start), len(per_second) - 1)] += 1
    result = {
        "config": {
            "clients": args.clients,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "idempotency_key": args.idempotency,
            "client": args.transport,
            "server": {
                "app": args.app,
                "workers": args.workers,
                "worker_class": args.worker_class,
                "threads": args.threads,
                "conn_max_age": args.conn_max_age,
            },
            "request_body_example": json.loads(bodies[0]),
        },
        "api": {
            "cases_per_s": round(len(ok) / args.duration, 1),
            "requests_in_window": len(in_window),
            "created_in_window": len(ok),
            "errors_in_window": len(in_window) - len(ok),
            **latency_summary(ok),
            "per_second": per_second,
        },
        "solo": {
            "seconds": args.solo,
            "cases_per_s": round(len(solo_ok) / args.solo, 1) if args.solo > 0 else 0.0,
            **latency_summary(solo_ok),
        },
        "requests_total": len(samples),
        "created_total": sum(1 for s in samples if s[2] == 201),
        "errors": dict(errors.most_common(10)),
        "errors_total": sum(errors.values()),
        "cpu": cpu_breakdown(before, after, len(ok)) | {"background_cores_busy_before": background},
        "postgres_activity": sampler.summary() if sampler is not None else None,
    }
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    api = result["api"]
    assert isinstance(api, dict)
    print(
        f"load: {api['cases_per_s']} cases/s, p50 {api['p50_ms']} ms, p99 {api['p99_ms']} ms, "
        f"{result['errors_total']} errors"
    )
    return 0


# ---------------------------------------------------------------------------------------------
# finish: integrity check, the raw SQL ceiling, the report

# As next_case_number: one statement creates the day's row or bumps it, and returns the value.
BUMP_COUNTER = (
    "INSERT INTO cases_dailycounter (day, value) VALUES (%s, 1) "
    "ON CONFLICT (day) DO UPDATE SET value = cases_dailycounter.value + 1 RETURNING value"
)
INSERT_CASE = """
INSERT INTO cases_case (
    number, tracking_code, kind, title, description, item_id, place_id, building_id, address,
    lat, lon, channel, proactive, reporter_name, reporter_phone, reporter_anonymous,
    reporter_confidential, status, owner_id, created_by_id, first_receiver_id, created_at,
    accepted_at, respond_by, resolve_by, resolved_at, closed_at, supervised_at, supervision,
    callback_requested_at, review_requested_at, merged_into_id, version, last_seq
) VALUES (
    %s, %s, 'complaint', '占道经营', %s, %s, %s, %s, '基准路1号东侧',
    39.9405, 116.3701, 'hotline', false, '张三', %s, false,
    false, 'submitted', NULL, %s, %s, %s,
    NULL, NULL, NULL, NULL, NULL, NULL, '',
    NULL, NULL, NULL, 0, 1
) RETURNING id
"""
SET_NUMBER = "UPDATE cases_case SET number = %s WHERE id = %s"
INSERT_EVENT = """
INSERT INTO cases_event (case_id, seq, action, actor_id, unit_id, from_status, to_status, note, data,
                         public, at)
VALUES (%s, 1, 'create', %s, NULL, '', 'submitted', '', %s, true, %s) RETURNING id
"""


def ceiling_transaction(conn: psycopg.Connection[Any], setup: dict[str, Any], n: int) -> None:
    """What case_create writes, statement for statement: insert the case under a provisional
    number, insert its 'create' event, bump the day's counter (one upsert that returns the value),
    give the case its number, commit (the counter row stays locked from the bump to the commit)."""
    moment = datetime.now(UTC)
    day = local_day(moment)
    with conn.cursor() as cur:
        tracking = "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(10))
        cur.execute(
            INSERT_CASE,
            (
                f"~{tracking}",
                tracking,
                f"{BUILDING} 门前有人占道摆摊，影响通行（基准 #{n % 256}）",
                setup["item_id"],
                setup["grid_id"],
                setup["building_id"],
                f"1381234{n % 10000:04d}",
                setup["user_id"],
                setup["user_id"],
                moment,
            ),
        )
        created = cur.fetchone()
        assert created is not None
        cur.execute(INSERT_EVENT, (created[0], setup["user_id"], Jsonb({"channel": "hotline"}), moment))
        cur.execute(BUMP_COUNTER, (day,))
        counter = cur.fetchone()
        assert counter is not None
        cur.execute(SET_NUMBER, (f"{day:%Y%m%d}-{counter[0]:06d}", created[0]))
    conn.commit()


def _process_cpu(pid: int) -> float:
    """CPU seconds a process has used (0 when it is not on this machine)."""
    try:
        rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(rest[11]) + int(rest[12])) / CLK_TCK  # utime, stime


def ceiling_worker(
    db_url: str, setup: dict[str, Any], start_at: float, stop_at: float
) -> tuple[list[float], float]:
    """One connection committing case transactions back to back, from start_at to stop_at.

    Returns each transaction's latency, and the CPU seconds its PostgreSQL backend used: read
    before closing, as the backend exits with the connection."""
    latencies: list[float] = []
    with psycopg.connect(_libpq_url(db_url)) as conn:
        time.sleep(max(start_at - time.monotonic(), 0.0))
        n = 0
        while time.monotonic() < stop_at:
            began = time.monotonic()
            ceiling_transaction(conn, setup, n)
            latencies.append(time.monotonic() - began)
            n += 1
        return latencies, _process_cpu(conn.info.backend_pid)


def _own_cpu() -> float:
    """CPU seconds of this process and of its reaped children (the ceiling's worker processes)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run_ceiling(db_url: str, setup: dict[str, Any], connections: int, seconds: float) -> dict[str, Any]:
    """Cases/s of the raw writes over `connections` connections, each in a process of its own (so
    no GIL is shared), all starting together once connected."""
    database = _database_name(db_url)
    start_at = time.monotonic() + 1.0  # time for the processes to start and connect
    stop_at = start_at + seconds
    own_before = _own_cpu()  # the worker processes count once reaped, whole
    with ProcessPoolExecutor(max_workers=connections, mp_context=get_context("fork")) as pool:
        futures = [pool.submit(ceiling_worker, db_url, setup, start_at, stop_at) for _ in range(connections)]
        time.sleep(max(start_at - time.monotonic(), 0.0))
        before = cpu_sample(None, database)
        results = [future.result() for future in futures]
    after, own_after = cpu_sample(None, database), _own_cpu()
    latencies = [latency for worker, _backend in results for latency in worker]
    wall = after.at - before.at
    machine = after.machine_busy - before.machine_busy
    # The backends are gone by now: the samples miss what they used after `before`; add it back.
    postgres = after.postgres - before.postgres + sum(backend for _worker, backend in results)
    client = own_after - own_before
    return {
        "connections": connections,
        "seconds": seconds,
        "cases": len(latencies),
        "cases_per_s": round(len(latencies) / seconds, 1),
        **latency_summary(latencies),
        "cores_busy": {
            "all": round(machine / wall, 3),
            "postgres": round(postgres / wall, 3),
            "client": round(client / wall, 3),
            "other": round(max(machine - postgres - client, 0.0) / wall, 3),
        },
    }


def integrity(db_url: str) -> dict[str, int]:
    with psycopg.connect(_libpq_url(db_url)) as conn:
        row = conn.execute(
            """
            SELECT (SELECT count(*) FROM cases_case),
                   (SELECT count(*) FROM cases_event),
                   (SELECT count(*) FROM cases_case c
                     WHERE (SELECT count(*) FROM cases_event e WHERE e.case_id = c.id) <> 1),
                   (SELECT coalesce(sum(value), 0) FROM cases_dailycounter),
                   (SELECT count(DISTINCT number) FROM cases_case),
                   (SELECT count(*) FROM cases_case WHERE number !~ '^[0-9]{8}-[0-9]{6}$')
            """
        ).fetchone()
    assert row is not None
    cases, events, not_one, counted, numbers, unnumbered = (int(v) for v in row)
    return {
        "cases": cases,
        "events": events,
        "cases_without_exactly_one_event": not_one,
        "counter_total": counted,
        "distinct_numbers": numbers,
        "cases_without_a_number": unnumbered,
    }


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 3) if whole else None


def _git(*argv: str) -> str | None:
    try:
        done = subprocess.run(["git", *argv], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def machine_info(db_url: str) -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with psycopg.connect(_libpq_url(db_url)) as conn:
        settings = {
            name: str(conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0])  # type: ignore[index]
            for name in ("server_version", "synchronous_commit", "fsync", "shared_buffers")
        }
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": settings,
    }


def cmd_finish(args: argparse.Namespace) -> int:
    setup = json.loads(Path(args.setup).read_text())
    load = json.loads(Path(args.load).read_text())

    # 1. Integrity: gunicorn is stopped, so every answered request has committed (or not) for good.
    check = integrity(args.db_url)
    created = int(load["created_total"])
    problems = []
    if check["cases"] != created:
        problems.append(f"{check['cases']} cases in the database but {created} 201 responses")
    if check["cases_without_exactly_one_event"] or check["events"] != check["cases"]:
        problems.append(f"{check['cases_without_exactly_one_event']} cases without exactly one event")
    if check["counter_total"] != check["cases"] or check["distinct_numbers"] != check["cases"]:
        problems.append(f"day counters total {check['counter_total']} for {check['cases']} cases")
    if check["cases_without_a_number"]:
        problems.append(f"{check['cases_without_a_number']} cases still hold a provisional number")
    print(
        f"integrity: {check['cases']} cases = {created} responses 201; events {check['events']}; "
        f"counter {check['counter_total']}: " + ("OK" if not problems else "FAILED: " + "; ".join(problems))
    )

    # 2. The ceiling: the same transactions straight through psycopg, on the same (warm) tables.
    ceilings = []
    for connections in sorted({1, args.ceiling_connections}):
        result = run_ceiling(args.db_url, setup, connections, args.ceiling_seconds)
        ceilings.append(result)
        print(
            f"ceiling: {connections} connection(s): {result['cases_per_s']} cases/s, "
            f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms"
        )
    after = integrity(args.db_url)
    ceiling_rows = sum(int(c["cases"]) for c in ceilings)
    ceiling_ok = (
        after["cases"] == check["cases"] + ceiling_rows
        and after["events"] == after["cases"]
        and after["cases_without_exactly_one_event"] == 0
        and after["counter_total"] == after["cases"]
        and after["cases_without_a_number"] == 0
    )

    api = load["api"]
    best = max(ceilings, key=lambda c: float(c["cases_per_s"]))
    rate = float(api["cases_per_s"])
    report = {
        "benchmark": "intake",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": {"commit": _git("rev-parse", "HEAD"), "dirty": bool(_git("status", "--porcelain"))},
        "machine": machine_info(args.db_url),
        "config": load["config"] | {"ceiling_seconds": args.ceiling_seconds},
        "api": api,
        "solo": load["solo"],
        "errors": load["errors"],
        "cpu": load["cpu"],
        "postgres_activity": load["postgres_activity"],
        "warnings": warnings(load, ceilings),
        "ceiling": ceilings,
        "ratio": {
            "api_to_best_ceiling": _ratio(rate, float(best["cases_per_s"])),
            "api_to_single_connection": _ratio(rate, float(ceilings[0]["cases_per_s"])),
        },
        "integrity": check | {"responses_201": created, "ok": not problems, "problems": problems},
        "ceiling_integrity_ok": ceiling_ok,
        "target": {
            "cases_per_s": TARGET_RATE,
            "p99_ms": TARGET_P99_MS,
            "rate_met": rate >= TARGET_RATE,
            "p99_met": float(api["p99_ms"]) < TARGET_P99_MS and api["created_in_window"] > 0,
        },
    }
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    (out_dir / "intake.json").write_text(text)
    with (out_dir / "history.jsonl").open("a") as history:
        history.write(json.dumps(report, ensure_ascii=False) + "\n")
    print_summary(report)
    print(f"written {out_dir / 'intake.json'} (and appended to {out_dir / 'history.jsonl'})")
    return 0 if not problems and ceiling_ok else 1


def warnings(load: dict[str, Any], ceilings: list[dict[str, Any]]) -> list[str]:
    """What makes this run's figures doubtful; printed and kept in the report."""
    found = []
    cpu = load["cpu"]
    busy = cpu["cores_busy"]
    if cpu["background_cores_busy_before"] > 0.15:
        found.append(
            f"the machine was busy ({cpu['background_cores_busy_before']} cores) before the load started"
        )
    if busy["other"] > 0.15:
        found.append(f"other processes used {busy['other']} cores during the measured window")
    if busy["generator"] > 0.35 * cpu["cores"] / 2:
        found.append(f"the load generator itself used {busy['generator']} cores")
    for ceiling in ceilings:
        if ceiling["cores_busy"]["other"] > 0.15:
            found.append(
                f"other processes used {ceiling['cores_busy']['other']} cores during the "
                f"{ceiling['connections']}-connection ceiling"
            )
    if load["errors_total"]:
        found.append(f"{load['errors_total']} requests did not answer 201")
    return found


def _latencies(figures: dict[str, Any]) -> str:
    return (
        f"p50 {figures['p50_ms']} ms   p90 {figures['p90_ms']} ms   p99 {figures['p99_ms']} ms   "
        f"max {figures['max_ms']} ms"
    )


def print_summary(report: dict[str, Any]) -> None:
    api, cpu, config, target = report["api"], report["cpu"], report["config"], report["target"]
    server, busy, per_case = config["server"], cpu["cores_busy"], cpu["cpu_ms_per_case"]
    git, machine, check = report["git"], report["machine"], report["integrity"]
    threads = f" × {server['threads']} threads" if server["worker_class"] == "gthread" else ""
    lines = [
        "",
        f"CivicGrid intake benchmark · {report['timestamp']} · commit {(git['commit'] or '?')[:10]}"
        f"{' (dirty)' if git['dirty'] else ''} · {machine['cores']} cores {machine['cpu_model']}",
        f"  server    gunicorn {server['app']}, {server['worker_class']} × {server['workers']} "
        f"workers{threads}, CONN_MAX_AGE {server['conn_max_age']}; PostgreSQL on the same machine",
        f"  load      {config['clients']} closed-loop clients, {config['duration_s']:g} s measured after "
        f"{config['warmup_s']:g} s warm-up{', Idempotency-Key' if config['idempotency_key'] else ''}"
        f" ({config.get('client', 'httpx')} client)",
        f"  API       {api['cases_per_s']:>7} cases/s   {_latencies(api)}   "
        f"errors {api['errors_in_window']} of {api['requests_in_window']}",
    ]
    solo = report["solo"]
    if solo["seconds"]:
        lines.append(
            f"  1 client  {solo['cases_per_s']:>7} cases/s   {_latencies(solo)}   (alone: no queueing)"
        )
    for ceiling in report["ceiling"]:
        lines.append(
            f"  ceiling   {ceiling['cases_per_s']:>7} cases/s   {_latencies(ceiling)}   "
            f"raw psycopg, {ceiling['connections']} connection(s); cores busy: postgres "
            f"{ceiling['cores_busy']['postgres']}, client {ceiling['cores_busy']['client']}"
        )
    ratio = report["ratio"]
    lines += [
        f"  ratio     API / best ceiling {ratio['api_to_best_ceiling']}, "
        f"API / 1-connection ceiling {ratio['api_to_single_connection']}",
        f"  CPU       cores busy of {cpu['cores']}: gunicorn {busy['gunicorn']}, "
        f"postgres {busy['postgres']}, generator {busy['generator']}, other {busy['other']} "
        f"(machine {cpu['machine_utilisation']:.0%})",
        f"            per case: gunicorn {per_case['gunicorn']} ms, postgres {per_case['postgres']} ms, "
        f"generator {per_case['generator']} ms of CPU",
    ]
    activity = report["postgres_activity"]
    if activity:
        waits = ", ".join(f"{event} ×{n}" for event, n in activity["wait_events"].items()) or "none"
        lines.append(
            f"  postgres  {activity['mean_active_backends']} backends busy on average, "
            f"{activity['mean_waiting_on_lock']} of them waiting for a lock (sampled waits: {waits})"
        )
    lines += [
        f"  target    ≥ {target['cases_per_s']:g} cases/s: {'met' if target['rate_met'] else 'NOT met'}; "
        f"p99 < {target['p99_ms']:g} ms: {'met' if target['p99_met'] else 'NOT met'}",
        f"  integrity {'OK' if check['ok'] else 'FAILED: ' + '; '.join(check['problems'])} "
        f"({check['cases']} cases for {check['responses_201']} × 201, one event each, counter gap-free)"
        + ("" if report["ceiling_integrity_ok"] else "; the ceiling's rows FAILED the same check"),
    ]
    lines += [f"  WARNING   {warning}" for warning in report["warnings"]]
    lines += [f"  error     {n} × {what}" for what, n in report["errors"].items()]
    print("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("createdb", help="drop and recreate the bench database; print its URL")
    p.add_argument("--server-url", required=True, help="any PostgreSQL URL on the server to use")
    p.add_argument("--name", default="civicgrid_bench")
    p.set_defaults(run=cmd_createdb)

    p = sub.add_parser("setup", help="create the minimal tree, a dispatcher and a token (Django)")
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_setup)

    p = sub.add_parser("freeport", help="print a free TCP port on 127.0.0.1")
    p.set_defaults(run=cmd_freeport)

    p = sub.add_parser("load", help="drive closed-loop clients against a running server")
    p.add_argument("--url", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--setup", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--solo", type=float, default=5.0, help="seconds of one client alone, afterwards")
    p.add_argument("--idempotency", action="store_true", help="send a fresh Idempotency-Key each time")
    p.add_argument(
        "--transport",
        choices=["socket", "httpx"],
        default="socket",
        help="how the clients speak HTTP: plain sockets (light) or one httpx.Client each",
    )
    p.add_argument("--server-pid", type=int, default=None, help="gunicorn master, for CPU accounting")
    p.add_argument("--db-url", default=None, help="the bench database, to sample lock waits")
    p.add_argument("--app", default=None, help="recorded in the report")
    p.add_argument("--workers", type=int, default=None, help="recorded in the report")
    p.add_argument("--worker-class", default=None, help="recorded in the report")
    p.add_argument("--threads", type=int, default=None, help="recorded in the report")
    p.add_argument("--conn-max-age", type=int, default=None, help="recorded in the report")
    p.set_defaults(run=cmd_load)

    p = sub.add_parser("finish", help="integrity check, SQL ceiling, write the report")
    p.add_argument("--db-url", required=True)
    p.add_argument("--setup", required=True)
    p.add_argument("--load", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--ceiling-seconds", type=float, default=5.0)
    p.add_argument("--ceiling-connections", type=int, default=4)
    p.set_defaults(run=cmd_finish)

    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
