"""`make bench`, the statistics: figures, rankings, the dashboard API and a bulletin at scale.

Writes a simulated history into a fresh PostgreSQL database (`civicgrid simulate --cases N`, COPY,
rollups rebuilt), then measures, each repeated over random units and months:

- a unit's monthly statistics (`figures()` for one street or community and one month);
- a district's monthly ranking (every community of the district, grouped in one read);
- the statistics API: `GET /api/v1/stats?group_by=day` or `group_by=domain` for a month (each sample
  one request, the two alternating) through Django's full request path (bearer token, scoping, JSON);
- the dashboard's data: `GET /console/dashboard/data/` for a month of the district, what the
  leader's dashboard loads on each refresh (every tile, chart, ranking, map, hot spot and alert);
- a district's monthly bulletin (`civicgrid bulletin`, xlsx and HTML).

Target (issue 5): median and p95 under 200 ms; a monthly bulletin under 5 s. Figures print and go to
build/bench/stats.json. The database is dropped afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.intake import bench_urls, cmd_createdb, machine_info, percentile

OUT = Path("build/bench")
READS = ("unit_month_ms", "district_ranking_ms", "stats_api_ms", "dashboard_data_ms")


def _months(last: date, count: int) -> list[tuple[date, date]]:
    """The `count` whole months before the one holding `last`, newest first."""
    out, year, month = [], last.year, last.month
    for _ in range(count):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        start = date(year, month, 1)
        end = date(year + (month == 12), month % 12 + 1, 1)
        out.append((start, end))
    return out


def _timed(samples: int, work: Callable[[], object]) -> dict[str, float]:
    """Median and p95 in milliseconds, after one warm-up call."""
    work()
    seconds = []
    for _ in range(samples):
        began = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - began)
    ordered = sorted(seconds)
    return {
        "median": round(percentile(ordered, 50) * 1000, 1),
        "p95": round(percentile(ordered, 95) * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
        "n": len(ordered),
    }


def _panel_timings(
    samples: int, district: Any, months: list[tuple[date, date]], pick: random.Random
) -> dict[str, dict[str, float]]:
    """Each part of the dashboard's data on its own (a district's month), to show where time goes."""
    from django.utils import timezone

    from civicgrid.analytics import dashboard

    def board() -> dashboard.Board:
        start, end = pick.choice(months)
        last = end - timedelta(days=1)
        params = {"period": "custom", "first": start.isoformat(), "last": last.isoformat()}
        period = dashboard.period_of(params, today=timezone.localdate())
        return dashboard.Board(
            period, district, dashboard.CaseLinks("/console/", period), timezone.localdate()
        )

    return {
        name: _timed(samples, lambda panel=panel: panel(board()))  # type: ignore[misc]
        for name, panel in dashboard.PANELS.items()
    }


def measure(samples: int) -> dict[str, Any]:
    """Every timing of the module docstring, on the simulated district."""
    from django.core.management import call_command
    from django.test import Client

    from civicgrid.accounts.models import Role, User
    from civicgrid.accounts.services import post_grant, token_create
    from civicgrid.analytics.figures import figures
    from civicgrid.cases.models import Case
    from civicgrid.org.models import Unit

    district = Unit.objects.filter(kind=Unit.Kind.DISTRICT).order_by("pk").first()
    assert district is not None
    areas = list(Unit.objects.filter(path__startswith=district.path, kind__in=["street", "community"]))
    latest = Case.objects.order_by("-created_at").values_list("created_at", flat=True).first()
    assert latest is not None
    months = _months(latest.date(), 12)
    pick = random.Random(7)

    def unit_month() -> object:
        start, end = pick.choice(months)
        return figures(start=start, end=end, place=pick.choice(areas))

    def ranking() -> object:
        start, end = pick.choice(months)
        return figures(start=start, end=end, place=district, group_by="unit", level="community")

    leader = User.objects.create_user(username=f"bench-leader-{secrets.token_hex(3)}", password=None)
    post_grant(user=leader, unit=district, role=Role.LEADER)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=leader)}")

    groups = iter(("day", "domain") * samples)

    def stats_api() -> object:
        start, end = pick.choice(months)
        response = client.get(f"/api/v1/stats?from={start}&to={end}&group_by={next(groups, 'day')}")
        assert response.status_code == 200, response.content[:300]
        return response

    browser = Client()
    browser.force_login(leader)

    def dashboard_data() -> object:
        start, end = pick.choice(months)
        last = end - timedelta(days=1)
        response = browser.get(f"/console/dashboard/data/?period=custom&first={start}&last={last}")
        assert response.status_code == 200, response.content[:300]
        return response

    panels = _panel_timings(samples, district, months, pick)
    start, _end = months[0]
    bulletin: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        for kind in ("xlsx", "html"):
            began = time.perf_counter()
            period = f"{start:%Y-%m}"
            target = str(Path(folder) / f"bulletin.{kind}")
            call_command(
                "bulletin", "--unit", district.code, "--period", period, "--format", kind, "--output", target
            )
            bulletin[kind] = round(time.perf_counter() - began, 2)
    return {
        "unit_month_ms": _timed(samples, unit_month),
        "district_ranking_ms": _timed(samples, ranking),
        "stats_api_ms": _timed(samples, stats_api),
        "stats_api_note": "each sample is one request, group_by=day and group_by=domain alternating",
        "dashboard_data_ms": _timed(samples, dashboard_data),
        "dashboard_panels_ms": panels,
        "bulletin_seconds": bulletin,
        "areas": len(areas),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server-url", required=True, help="any database on the PostgreSQL server")
    parser.add_argument("--name", default="civicgrid_bench_stats")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--years", type=float, default=1.0)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--bin", default=".venv/bin")
    parser.add_argument("--keep", action="store_true", help="keep the database (and reuse it with --reuse)")
    parser.add_argument("--reuse", action="store_true", help="measure an existing bench database again")
    parser.add_argument(
        "--setup-only", action="store_true", help="write the history, keep it, measure nothing"
    )
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_hex(16))
    os.environ.update({"DEBUG": "false", "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "testserver,127.0.0.1"})
    _admin, db_url = bench_urls(args.server_url, args.name)
    env = {**os.environ, "DATABASE_URL": db_url}
    simulated: dict[str, Any] = {}
    if not args.reuse:
        cmd_createdb(argparse.Namespace(server_url=args.server_url, name=args.name))
        run = [f"{args.bin}/civicgrid", "migrate", "--noinput", "--skip-checks"]
        subprocess.run(run, env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"bench: simulating {args.cases:,} cases over {args.years} years", flush=True)
        began = time.perf_counter()
        run = [f"{args.bin}/civicgrid", "simulate", "--cases", str(args.cases), "--years", str(args.years)]
        subprocess.run([*run, "--seed", "1"], env=env, check=True)
        simulated = {
            "cases": args.cases,
            "years": args.years,
            "seconds": round(time.perf_counter() - began, 1),
        }
    if args.setup_only:
        print(f"bench: the history is in {args.name}; measure it with --reuse", flush=True)
        return 0
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.settings")
    import django

    django.setup()
    figures = measure(args.samples)
    report = {
        "machine": machine_info(db_url),
        "simulated": simulated,
        **figures,
        "target": {
            "reads_under_200_ms_p95": all(figures[k]["p95"] < 200 for k in READS),
            "bulletin_under_5_s": max(figures["bulletin_seconds"].values()) < 5,
        },
    }
    (OUT / "stats.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    for key in READS:
        print(f"bench: {key}: median {figures[key]['median']} ms, p95 {figures[key]['p95']} ms", flush=True)
    for name, timing in figures["dashboard_panels_ms"].items():
        print(f"bench:   dashboard panel {name}: median {timing['median']} ms, p95 {timing['p95']} ms")
    print(f"bench: monthly bulletin: {figures['bulletin_seconds']} s", flush=True)
    from django.db import connection

    connection.close()
    if not args.keep:
        cmd_drop(args.server_url, args.name)
    return 0


def cmd_drop(server_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    admin, _bench = bench_urls(server_url, name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    raise SystemExit(main())
