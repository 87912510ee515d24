"""The staff sheet (人员): accounts by username and their posts by (account, unit, role)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from civicgrid.accounts.models import Post, Role, User
from civicgrid.ops.imports.counts import Counts
from civicgrid.ops.imports.rows import Context, RowReader, chunked, first_seen, lookup
from civicgrid.ops.sheets import Sheet
from civicgrid.org.models import Unit

BATCH = 500
USERNAME_MAX = 150


@dataclass
class StaffRow:
    row: int
    username: str
    name: str
    phone: str
    unit_code: str  # "" with role "": a row that only creates or updates the account
    role: str
    duties: str


def _read(reader: RowReader, ctx: Context, roles: dict[str, str]) -> StaffRow:
    row = StaffRow(
        row=reader.row,
        username=reader.text("账号", max_length=USERNAME_MAX, required=True),
        name=reader.text("姓名", max_length=50),
        phone=reader.phone("手机号"),
        unit_code=reader.text("单位编码", max_length=32),
        role=reader.choice("岗位", roles),
        duties=reader.text("服务事项", max_length=2000),
    )
    try:
        if row.username:
            UnicodeUsernameValidator()(row.username)
    except ValidationError:
        reader.fail(_("账号“%(name)s”只能包含字母、数字和 @ . + - _") % {"name": row.username})
    if row.username and not row.name and row.username not in ctx.usernames:
        reader.fail(_("新账号须填写“姓名”"))
    if bool(row.unit_code) != bool(reader.values.get("岗位", "").strip()):
        reader.fail(_("“单位编码”和“岗位”须同时填写（都不填则只导入账号）"))
    elif row.unit_code and row.unit_code not in ctx.unit_kinds:
        reader.fail(_("单位编码“%(code)s”不存在") % {"code": row.unit_code})
    return row


def check_staff(sheet: Sheet, ctx: Context) -> list[StaffRow]:
    roles = lookup(Role)
    people: dict[str, StaffRow] = {}  # the first row of each account: later rows must agree with it
    posts: dict[tuple[str, str, str], int] = {}
    rows: list[StaffRow] = []
    for number, values in sheet.rows:
        reader = RowReader(ctx, sheet, number, values)
        row = _read(reader, ctx, roles)
        ctx.tick()
        if not row.username:
            continue
        first = people.setdefault(row.username, row)
        if (first.name, first.phone) != (row.name, row.phone):
            reader.fail(
                _("账号“%(name)s”的姓名或手机号与第 %(first)d 行不一致")
                % {"name": row.username, "first": first.row}
            )
        key = (row.username, row.unit_code, row.role)
        if row.unit_code and (seen := first_seen(posts, key, number)) is not None:
            reader.fail(_("同一账号、单位、岗位在本文件中重复（第 %(first)d 行已有）") % {"first": seen})
        rows.append(row)
    return rows


def apply_staff(rows: list[StaffRow]) -> tuple[Counts, Counts]:
    """Accounts and posts; new accounts get an unusable password (set one in the admin)."""
    users, accounts = _apply_accounts(rows)
    return accounts, _apply_posts(rows, users)


def _apply_accounts(rows: list[StaffRow]) -> tuple[dict[str, User], Counts]:
    counts = Counts()
    first: dict[str, StaffRow] = {}
    for row in rows:
        first.setdefault(row.username, row)
    existing: dict[str, User] = {}
    for batch in chunked(list(first)):
        existing.update({user.username: user for user in User.objects.filter(username__in=batch)})
    new: list[User] = []
    changed: list[User] = []
    for username, row in first.items():
        user = existing.get(username)
        if user is not None and (user.display_name, user.phone) == (row.name, row.phone):
            counts.add(created=False, changed=False)
            continue
        if user is None:
            user = User(username=username)
            user.set_unusable_password()
        user.display_name, user.phone = row.name, row.phone
        (changed if username in existing else new).append(user)
        counts.add(created=username not in existing, changed=True)
    User.objects.bulk_create(new, batch_size=BATCH)
    User.objects.bulk_update(changed, ["display_name", "phone"], batch_size=BATCH)
    return {user.username: user for user in [*existing.values(), *new]}, counts


def _apply_posts(rows: list[StaffRow], users: dict[str, User]) -> Counts:
    """Upsert by (user, unit, role): a post held before is re-activated; posts not in the file stay."""
    counts = Counts()
    wanted = [row for row in rows if row.unit_code]
    units = _unit_ids({row.unit_code for row in wanted})
    before: dict[tuple[int, int, str], Post] = {}
    for batch in chunked(sorted({users[row.username].pk for row in wanted})):
        before.update({(p.user_id, p.unit_id, p.role): p for p in Post.objects.filter(user_id__in=batch)})
    new: list[Post] = []
    changed: list[Post] = []
    for row in wanted:
        key = (users[row.username].pk, units[row.unit_code], row.role)
        post = before.get(key)
        if post is not None and post.active and post.duties == row.duties:
            counts.add(created=False, changed=False)
            continue
        if post is None:
            post = Post(user_id=key[0], unit_id=key[1], role=row.role)
        post.active, post.duties = True, row.duties
        (changed if key in before else new).append(post)
        counts.add(created=key not in before, changed=True)
    Post.objects.bulk_create(new, batch_size=BATCH)
    Post.objects.bulk_update(changed, ["active", "duties"], batch_size=BATCH)
    return counts


def _unit_ids(codes: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for batch in chunked(sorted(codes)):
        found.update(Unit.objects.filter(code__in=batch).values_list("code", "pk"))
    return found
