"""What a user's posts reach: the areas they oversee and the units whose cases they handle."""

from __future__ import annotations

from dataclasses import dataclass

from civicgrid.accounts.models import Role, User
from civicgrid.accounts.selectors import posts_of
from civicgrid.org import refcache
from civicgrid.org.models import Unit
from civicgrid.org.selectors import district_of

# Roles that work the cases given to their unit.
HANDLING_ROLES = frozenset(
    {
        Role.HANDLER,
        Role.UNIT_HEAD,
        Role.GRID_WORKER,
        Role.GRID_LEADER,
        Role.COMMUNITY_LIAISON,
        Role.STREET_LIAISON,
    }
)
# Roles that see everything in the area they are posted to (the district, for a district post).
OVERSIGHT_ROLES = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.LEADER, Role.ADMIN})
# Volunteers report; they see only what they reported themselves.
VOLUNTEER_ROLES = frozenset({Role.HOUSEHOLD_LEAD, Role.INFORMANT})


@dataclass(frozen=True)
class Reach:
    """A user's posts resolved once: unit paths per oversight role, handled unit ids, grids worked."""

    user_id: int
    centre_paths: tuple[str, ...] = ()
    supervisor_paths: tuple[str, ...] = ()
    leader_paths: tuple[str, ...] = ()
    area_paths: tuple[str, ...] = ()
    handled_unit_ids: frozenset[int] = frozenset()
    worked_grid_ids: frozenset[int] = frozenset()
    is_staff_member: bool = False

    def covers(self, paths: tuple[str, ...], place_path: str) -> bool:
        return any(place_path.startswith(path) for path in paths)


def _oversight_path(unit: Unit) -> str:
    """An oversight post on an area sees that area; on a department, its whole district."""
    return unit.path if unit.is_area else district_of(unit=unit).path


def reach_of(user: User) -> Reach:
    """The user's reach, once per user object; between requests from the reference cache, which
    drops it whenever a post, unit or user changes (one query for the posts when it is not there)."""
    memo: Reach | None = getattr(user, "_civicgrid_reach", None)
    if memo is not None:
        return memo
    reach: Reach | None = None
    if user.is_authenticated and user.pk is not None:
        reach = refcache.cached(refcache.key_for("reach", str(user.pk)), lambda: _resolve(user))
    if reach is None:
        reach = _resolve(user)
    user._civicgrid_reach = reach  # type: ignore[attr-defined]
    return reach


def _resolve(user: User) -> Reach:
    """The reach read from the user's posts."""
    by_role: dict[str, list[str]] = {}
    handled: set[int] = set()
    grids: set[int] = set()
    areas: list[str] = []
    posts = list(posts_of(user=user)) if user.is_authenticated else []
    for post in posts:
        if post.role in OVERSIGHT_ROLES:
            by_role.setdefault(post.role, []).append(_oversight_path(post.unit))
        if post.role in HANDLING_ROLES:
            handled.add(post.unit_id)
            if post.unit.is_area:
                areas.append(post.unit.path)
        if post.role in {Role.GRID_WORKER, Role.GRID_LEADER} and post.unit.kind == Unit.Kind.GRID:
            grids.add(post.unit_id)
    return Reach(
        user_id=user.pk or 0,
        centre_paths=tuple(by_role.get(Role.DISPATCHER, [])),
        supervisor_paths=tuple(by_role.get(Role.SUPERVISOR, [])),
        leader_paths=tuple(by_role.get(Role.LEADER, [])),
        area_paths=tuple(areas + by_role.get(Role.ADMIN, [])),
        handled_unit_ids=frozenset(handled),
        worked_grid_ids=frozenset(grids),
        is_staff_member=bool(posts),
    )
