"""Generating and storing bulletins: on demand (replacing the file) and by the worker (claimed once).

Files go through Django's storage API under a fresh name each time; the row points at the new file
in the same transaction that forgets the old one, which is deleted only after the commit, so a
reader never finds a row without its file.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.analytics.bulletins import html, periods, xlsx
from civicgrid.analytics.bulletins.content import Content, gather, title_of
from civicgrid.analytics.bulletins.periods import Period
from civicgrid.analytics.models import Bulletin
from civicgrid.analytics.scoping import plausible
from civicgrid.cases.errors import InvalidInput
from civicgrid.org.models import Unit
from civicgrid.org.selectors import unit_by_code

log = logging.getLogger(__name__)

FORMATS = tuple(Bulletin.Format.values)
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}
# Bulletin files are Chinese whatever the language of the page that asked for them.
FILE_LANGUAGE = "zh-hans"


@dataclass(frozen=True)
class Request:
    """A checked request for one bulletin."""

    unit: Unit
    period: Period
    kind: str
    format: str


def checked(*, code: str, period: str, fmt: str, now: datetime | None = None) -> Request:
    """The unit, period and format named, or InvalidInput saying in Chinese what is wrong."""
    if fmt not in FORMATS:
        raise InvalidInput("format", _("格式须为 xlsx 或 html，不是“%(fmt)s”") % {"fmt": fmt})
    unit = unit_by_code(code=code.strip()) if plausible(code.strip()) else None
    if unit is None:
        raise InvalidInput("unit", _("未知单位编码 %(code)s") % {"code": code})
    found = periods.parse(period)
    kind = periods.kind_for(unit, found)
    periods.ensure_over(found, now=now or clock.now())
    return Request(unit, found, kind, fmt)


def render(content: Content, fmt: str) -> bytes:
    with translation.override(FILE_LANGUAGE):
        return xlsx.workbook(content) if fmt == "xlsx" else html.page(content)


def content_of(request: Request) -> Content:
    with translation.override(FILE_LANGUAGE):
        return gather(unit=request.unit, period=request.period, kind=request.kind)


def file_name(bulletin: Bulletin) -> str:
    """The name a reader saves it under: 西城区月度通报_2026-10.xlsx."""
    with translation.override(FILE_LANGUAGE):
        return f"{title_of(bulletin.unit, bulletin.kind)}_{bulletin.period}.{bulletin.format}"


def _store(request: Request, data: bytes) -> str:
    name = f"bulletins/{request.kind}/{request.period.label}/{request.unit.pk}-{uuid.uuid4().hex[:12]}"
    return default_storage.save(f"{name}.{request.format}", ContentFile(data))


def _forget_later(name: str) -> None:
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))


def _fill(row: Bulletin, *, name: str, data: bytes, actor: User | None) -> None:
    row.file.name = name
    row.size = len(data)
    row.sha256 = hashlib.sha256(data).hexdigest()
    row.generated_at = clock.now()
    row.generated_by = actor


def bulletin_generate(*, request: Request, actor: User | None = None) -> Bulletin:
    """Generate the bulletin now and store it, replacing an earlier file of the same bulletin."""
    data = render(content_of(request), request.format)
    name = _store(request, data)
    try:
        with transaction.atomic():
            row, created = _row_for(request)
            old = "" if created else (row.file.name or "")
            _fill(row, name=name, data=data, actor=actor)
            row.claimed_at = row.generated_at or clock.now()
            row.save()
            _forget_later(old)
    except BaseException:
        default_storage.delete(name)
        raise
    return row


def _row_for(request: Request) -> tuple[Bulletin, bool]:
    period = request.period
    dates = {"start": period.start, "end": period.end, "claimed_at": clock.now()}
    return Bulletin.objects.select_for_update().get_or_create(
        unit=request.unit, kind=request.kind, period=period.label, format=request.format, defaults=dates
    )


# --- the worker's claims -----------------------------------------------------------------------


def stale_before(now: datetime) -> datetime:
    return now - timedelta(minutes=int(settings.BULLETINS["claim_minutes"]))


def claim(*, request: Request, now: datetime) -> Bulletin | None:
    """Take the bulletin on for this worker: insert its row (the unique constraint lets one worker
    win), or take over a claim abandoned `claim_minutes` ago with a guarded UPDATE. None when the
    bulletin exists or another worker is writing it."""
    try:
        with transaction.atomic():
            row, created = Bulletin.objects.get_or_create(
                unit=request.unit,
                kind=request.kind,
                period=request.period.label,
                format=request.format,
                defaults={"start": request.period.start, "end": request.period.end, "claimed_at": now},
            )
    except IntegrityError:
        return None  # another worker inserted it between our read and our insert
    if created:
        return row
    taken = Bulletin.objects.filter(pk=row.pk, generated_at__isnull=True, claimed_at__lt=stale_before(now))
    if taken.update(claimed_at=now) != 1:
        return None
    row.claimed_at = now
    return row


def complete(*, row: Bulletin, content: Content) -> bool:
    """Write the claimed bulletin's file and record it, unless another worker took the claim over."""
    data = render(content, row.format)
    request = Request(row.unit, content.period, row.kind, row.format)
    name = _store(request, data)
    with transaction.atomic():
        mine = Bulletin.objects.filter(pk=row.pk, claimed_at=row.claimed_at, generated_at__isnull=True)
        _fill(row, name=name, data=data, actor=None)
        written = mine.update(file=name, size=row.size, sha256=row.sha256, generated_at=row.generated_at)
    if written != 1:
        default_storage.delete(name)
    return written == 1
