"""`civicgrid loaddemo [--cases N] [--seed N] [--small] [--if-empty]`: build the demo district."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from civicgrid.accounts.models import Post, Role
from civicgrid.cases.states import Status
from civicgrid.ops.demo import (
    DEFAULT_CASES,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DEMO_PATH,
    DISTRICT_CODE,
    INTEGRATOR,
    SMALL,
    DemoConflict,
    DemoSize,
    DemoSummary,
    build_demo,
    demo_exists,
    demo_summary,
)
from civicgrid.org.models import Unit


class Command(BaseCommand):
    help = (
        "Build the demo district 示范区 (4 streets, 24 communities, 195 grids, ~1,600 buildings, "
        "~12,000 households, staff for every role) and a few hundred cases with full histories."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--cases", type=int, default=DEFAULT_CASES, help="how many cases to write")
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed, same demo)"
        )
        parser.add_argument("--small", action="store_true", help="one street, two communities (for trials)")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the demo district is there already"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["cases"] < 0:
            raise CommandError("--cases 不能为负数")
        if demo_exists():
            if not options["if_empty"]:
                raise CommandError(f"演示区（{DISTRICT_CODE}）已存在；请换一个空数据库，或加 --if-empty 跳过")
            self.stdout.write(f"演示区（{DISTRICT_CODE}）已存在，未重复加载。")
            self._write(login_lines())
            return
        started = time.monotonic()
        try:
            build_demo(
                size=SMALL if options["small"] else DemoSize(), cases=options["cases"], seed=options["seed"]
            )
        except DemoConflict as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"演示区（{DISTRICT_CODE}）已加载，用时 {time.monotonic() - started:.1f} 秒。")
        self._write(summary_lines(demo_summary()) + login_lines())

    def _write(self, lines: list[str]) -> None:
        for line in lines:
            self.stdout.write(line)


def summary_lines(summary: DemoSummary) -> list[str]:
    """What `make demo` users read after loading: counts by kind, category and status."""
    kinds = "，".join(f"{Unit.Kind(kind).label} {summary.units.get(kind, 0)}" for kind in Unit.Kind.values)
    grids = "，".join(
        f"{label} {summary.grids[c]}" for c, label in Unit.Category.choices if c in summary.grids
    )
    statuses = "，".join(f"{Status(s).label} {summary.cases.get(s, 0)}" for s in Status.values)
    return [
        f"单位：{kinds}",
        f"网格：{grids}",
        f"楼栋 {summary.buildings:,}，住户 {summary.households:,}",
        f"账号 {summary.users}，岗位 {summary.posts}",
        f"诉求 {sum(summary.cases.values())}：{statuses}；超期未办结 {summary.overdue}",
    ]


# Oversight accounts first: they are what a tester looks for.
ROLE_ORDER = [
    Role.ADMIN,
    Role.DISPATCHER,
    Role.LEADER,
    Role.SUPERVISOR,
    Role.UNIT_HEAD,
    Role.STREET_LIAISON,
    Role.COMMUNITY_LIAISON,
    Role.GRID_LEADER,
    Role.GRID_WORKER,
    Role.HOUSEHOLD_LEAD,
    Role.INFORMANT,
    Role.HANDLER,
]


def login_lines() -> list[str]:
    """The demo accounts a tester signs in with, grouped by role."""
    posts = (
        Post.objects.filter(unit__path__startswith=DEMO_PATH).select_related("user", "unit").order_by("pk")
    )
    by_role: dict[str, list[Post]] = {}
    for post in posts:
        by_role.setdefault(post.role, []).append(post)
    lines = [f"演示账号（密码均为 {DEMO_PASSWORD}）："]
    for role in ROLE_ORDER:
        lines += _role_lines(role, by_role.get(role, []))
    lines.append(f"  接口账号（无岗位，代表一号通办 App）：{INTEGRATOR}")
    return lines


def _role_lines(role: Role, posts: list[Post]) -> list[str]:
    """A numbered run as "grid-1 … grid-195"; other accounts three to a line, with their units."""
    if not posts:
        return []
    first, last = posts[0], posts[-1]
    if len(posts) > 3 and first.user.username.endswith("-1"):
        run = f"{first.user.username} … {last.user.username}"
        return [f"  {role.label}：{run}（{first.unit.name} … {last.unit.name}）"]
    named = [f"{post.user.username}（{post.unit.name}）" for post in posts]
    return [f"  {role.label}：{'，'.join(named[i : i + 3])}" for i in range(0, len(named), 3)]
