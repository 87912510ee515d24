"""Setup pages: who may use them, the no-JavaScript upload → dry run → confirm path, large files, admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from civicgrid import clock
from civicgrid.accounts.models import Role, User
from civicgrid.accounts.services import post_grant
from civicgrid.cases.models import CalendarOverride
from civicgrid.ops import imports
from civicgrid.ops.importruns import INLINE_MAX_ROWS
from civicgrid.ops.jobs import process_import_run
from civicgrid.ops.models import ImportRun
from civicgrid.ops.sheets import LAYOUTS, read_sheets
from civicgrid.org.models import Building, Household, Unit
from tests.conftest import Town
from tests.test_setup_sheets import GOOD, HOUSEHOLDS, csv_bytes, xlsx

SETUP = "/console/setup/"


@pytest.fixture
def admin(town: Town) -> User:
    """管: holds the administrator post of the district."""
    user = User.objects.create_user(username="guan", password="pw-for-tests-1", display_name="管理员")
    post_grant(user=user, unit=town.district, role=Role.ADMIN)
    return user


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def upload(client: Client, name: str, data: bytes, kind: str = "") -> ImportRun | None:
    """Post a file as the page's form does; the run it created, if any."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = set(ImportRun.objects.values_list("pk", flat=True))
    client.post(f"{SETUP}import/", {"file": SimpleUploadedFile(name, data), "kind": kind})
    created = ImportRun.objects.exclude(pk__in=before).first()
    return created


def some_run(admin: User) -> ImportRun:
    return ImportRun.objects.create(created_by=admin, filename="x.csv", stored="imports/x.csv")


PAGES = [
    "",
    "export/units.csv",
    "export/all.xlsx",
    "qr/XC-S1-C1.pdf",
    "qr/building/B-0001.png",
    "qr/?unit=XC-S1-C1-G1",
    "qr/building/?building=B-0001",
]


@pytest.mark.parametrize("page", PAGES)
def test_it_serves_setup_pages_to_administrators_only(
    page: str, admin: User, centre: User, wang: User
) -> None:
    superuser = User.objects.create_superuser(username="root", password="pw-for-tests-1")

    assert client_for(admin).get(SETUP + page).status_code in (200, 302)
    assert client_for(superuser).get(SETUP + page).status_code in (200, 302)
    assert client_for(centre).get(SETUP + page).status_code == 403
    assert client_for(wang).get(SETUP + page).status_code == 403
    anonymous = client_for(None).get(SETUP + page)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/?next=")


def test_it_shows_a_run_only_to_administrators(admin: User, centre: User) -> None:
    run = some_run(admin)
    url = f"{SETUP}import/{run.pk}/"

    assert client_for(admin).get(url).status_code == 200
    assert client_for(admin).get(f"{url}problems.csv").status_code == 200
    assert client_for(centre).get(url).status_code == 403
    assert client_for(centre).post(f"{url}confirm/").status_code == 403
    assert client_for(None).get(url).status_code == 302


def test_it_refuses_an_upload_from_someone_without_the_admin_post(centre: User) -> None:
    assert upload(client_for(centre), "setup.xlsx", xlsx(GOOD)) is None
    assert not Unit.objects.filter(code="XC-S2").exists()


def test_it_lists_the_problems_of_the_dry_run_and_offers_no_confirmation(admin: User) -> None:
    client = client_for(admin)
    bad = csv_bytes(
        [HOUSEHOLDS[0], ["B-0001", "", "101", "甲", "138abc", 1, ""], ["B-9", "", "1", "乙", "", 1, ""]]
    )

    run = upload(client, "住户.csv", bad)
    assert run is not None
    page = client.get(f"{SETUP}import/{run.pk}/").content.decode()

    assert run.status == ImportRun.Status.CHECKED and len(run.problems) == 2
    assert "发现 2 个问题，未写入任何数据" in page
    assert "“电话”的值“138abc”不是有效的电话号码" in page and "楼栋编码“B-9”不存在" in page
    assert "确认导入" not in page
    client.post(f"{SETUP}import/{run.pk}/confirm/")
    assert Household.objects.count() == 0
    listing = client.get(f"{SETUP}import/{run.pk}/problems.csv").content.decode("utf-8-sig")
    assert "住户.csv,3,楼栋编码“B-9”不存在" in listing


def test_it_imports_a_checked_file_when_confirmed_without_javascript(admin: User) -> None:
    client = client_for(admin)
    run = upload(client, "setup.xlsx", xlsx(GOOD))
    assert run is not None
    checked = client.get(f"{SETUP}import/{run.pk}/").content.decode()
    assert "校验通过" in checked and "确认导入" in checked and not Unit.objects.filter(code="XC-S2").exists()

    response = client.post(f"{SETUP}import/{run.pk}/confirm/", follow=True)

    page = response.content.decode()
    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE and run.report["households"]["created"] == 3
    assert "导入结果" in page and "新建的 2 个账号没有密码" in page
    assert Building.objects.filter(code="B-1002", grid__code="XC-S2-C1-G1").exists()
    twice = client.post(f"{SETUP}import/{run.pk}/confirm/", follow=True)
    assert "不能确认" in twice.content.decode()


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("setup.xlsx", b"not a zip at all", "不是有效的 .xlsx 文件"),
        ("setup.xlsx", b"PK\x03\x04broken", "无法读取该 Excel 文件"),
        ("setup.xls", b"\xd0\xcf\x11\xe0", "旧版 .xls 请另存为 .xlsx"),
        ("people.csv", b"\xff\xfe\x00\x00\x00", "无法识别该 CSV 文件的编码"),
    ],
)
def test_it_says_why_a_file_cannot_be_read_and_stores_nothing(
    admin: User, name: str, data: bytes, reason: str
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client_for(admin).post(f"{SETUP}import/", {"file": SimpleUploadedFile(name, data)})

    assert response.status_code == 200
    assert reason in response.content.decode()
    assert ImportRun.objects.count() == 0


def test_it_takes_a_large_file_through_the_worker_with_a_progress_bar(admin: User) -> None:
    client = client_for(admin)
    rows = [["B-0001", f"{n // 100 + 1}单元", str(n), f"住户{n}", "", 2, ""] for n in range(3000)]
    run = upload(client, "大楼.csv", csv_bytes([HOUSEHOLDS[0], *rows]))
    assert run is not None and run.total == 3000 > INLINE_MAX_ROWS
    waiting = client.get(f"{SETUP}import/{run.pk}/").content.decode()
    assert run.status == ImportRun.Status.QUEUED
    assert '<progress class="import-progress" value="0" max="3000"' in waiting
    assert '<meta http-equiv="refresh" content="2">' in waiting

    assert process_import_run() is True
    run.refresh_from_db()
    assert (run.status, run.done, run.problems) == (ImportRun.Status.CHECKED, 3000, [])
    client.post(f"{SETUP}import/{run.pk}/confirm/")
    run.refresh_from_db()
    assert run.status == ImportRun.Status.IMPORT_QUEUED and Household.objects.count() == 0
    assert process_import_run() is True

    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE and run.done == 3000
    assert run.report["households"] == {"created": 3000, "updated": 0, "unchanged": 0}
    assert Household.objects.filter(building__code="B-0001").count() == 3000
    assert process_import_run() is False
    assert "refresh" not in client.get(f"{SETUP}import/{run.pk}/").content.decode()
    assert not default_storage.exists(run.stored)  # uploads hold names and phones: not kept


def test_it_fails_a_run_whose_file_cannot_be_read_without_stopping_the_worker(admin: User) -> None:
    broken = ImportRun.objects.create(
        created_by=admin, filename="a.xlsx", stored=default_storage.save("imports/a.xlsx", ContentFile(b"x"))
    )
    missing = ImportRun.objects.create(created_by=admin, filename="b.csv", stored="imports/gone.csv")

    assert process_import_run() is True and process_import_run() is True

    broken.refresh_from_db()
    missing.refresh_from_db()
    assert (broken.status, broken.error) == (
        ImportRun.Status.FAILED,
        "无法读取该 Excel 文件（请确认是 .xlsx 格式）",
    )
    assert missing.status == ImportRun.Status.FAILED and "FileNotFoundError" in missing.error


def test_it_takes_over_a_run_whose_worker_stopped_reporting(admin: User) -> None:
    stored = default_storage.save("imports/h.csv", ContentFile(csv_bytes([HOUSEHOLDS[0]])))
    busy = ImportRun.objects.create(created_by=admin, filename="h.csv", stored=stored)
    ImportRun.objects.filter(pk=busy.pk).update(
        status=ImportRun.Status.CHECKING, updated_at=clock.now() - timedelta(minutes=3)
    )
    assert process_import_run() is False  # its worker reported three minutes ago: still alive

    ImportRun.objects.filter(pk=busy.pk).update(updated_at=clock.now() - timedelta(minutes=11))

    assert process_import_run() is True
    busy.refresh_from_db()
    assert busy.status == ImportRun.Status.CHECKED


def test_it_reports_the_dry_run_progress_every_few_hundred_rows(town: Town) -> None:
    rows = [["B-0001", "", str(n), "某", "", "", ""] for n in range(600)]
    seen: list[int] = []

    imports.check(read_sheets(csv_bytes([HOUSEHOLDS[0], *rows]), filename="h.csv"), progress=seen.append)

    assert seen == [250, 500, 600]


def test_it_downloads_exports_in_both_formats(admin: User) -> None:
    client = client_for(admin)

    book = client.get(f"{SETUP}export/households.xlsx")
    text = client.get(f"{SETUP}export/units.csv")

    assert book["Content-Type"].startswith("application/vnd.openxmlformats")
    assert book["Content-Disposition"].startswith("attachment; filename=")
    header = text.content.decode("utf-8-sig").splitlines()[0]
    assert header == ",".join(LAYOUTS["units"].columns)
    assert client.get(f"{SETUP}export/all.csv").status_code == 404
    assert client.get(f"{SETUP}export/cases.xlsx").status_code == 404


def test_it_lists_recent_runs_on_the_setup_page(admin: User) -> None:
    some_run(admin)

    page = client_for(admin).get(SETUP).content.decode()

    assert "x.csv" in page and "等待校验" in page and 'enctype="multipart/form-data"' in page


def test_it_serves_every_admin_page_to_a_superuser(town: Town) -> None:
    client = client_for(User.objects.create_superuser(username="root", password="pw-for-tests-1"))
    Household.objects.create(building=town.building, room="101", head_name="甲")
    override = CalendarOverride.objects.create(day="2026-10-10", is_workday=True)
    pages = ["/admin/"]
    for model in [
        "org/unit",
        "org/building",
        "org/household",
        "catalogue/domain",
        "catalogue/item",
        "accounts/post",
        "accounts/user",
        "cases/calendaroverride",
    ]:
        pages += [f"/admin/{model}/", f"/admin/{model}/add/"]
    pages += [
        f"/admin/org/unit/{town.grid.pk}/change/",
        f"/admin/org/building/{town.building.pk}/change/",
        f"/admin/cases/calendaroverride/{override.pk}/change/",
    ]

    statuses = {page: client.get(page).status_code for page in pages}

    assert statuses == dict.fromkeys(pages, 200)
