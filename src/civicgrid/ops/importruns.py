"""Import runs from the web: store the upload, run the dry run and the import inline or on the worker.

Files of at most INLINE_MAX_ROWS data rows are checked and imported during the request (a second or
two). Larger files are left to the `civicgrid worker`: the request stores the file and queues the run,
and the status page shows `done/total` as the worker reports it, refreshing itself until the run
ends. The dry run reports progress every few hundred rows; the import reports it sheet by sheet,
because each sheet is written in one transaction that nobody else sees until it commits.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError
from django.db.models import Q
from django.utils.translation import gettext as _

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.ops import imports
from civicgrid.ops.models import ImportRun
from civicgrid.ops.sheets import Sheet, SheetError, read_sheets, row_count

log = logging.getLogger(__name__)

INLINE_MAX_ROWS = 2000
# A run claimed by a worker that has not reported for this long is taken over by another worker
# (the worker died); importing twice is harmless, since an import of unchanged rows writes nothing.
STALE_AFTER = timedelta(minutes=10)
Status = ImportRun.Status


def run_create(*, user: User, filename: str, data: bytes, kind: str, sheets: list[Sheet]) -> ImportRun:
    """Store the upload under imports/ and record the run; small files are checked at once."""
    suffix = filename.rsplit(".", 1)[-1].lower()
    stored = default_storage.save(f"imports/{uuid.uuid4().hex}.{suffix}", ContentFile(data))
    total = row_count(sheets)
    inline = total <= INLINE_MAX_ROWS
    # Created as already checking when this request does it, so no worker claims it meanwhile.
    run = ImportRun.objects.create(
        created_by=user,
        filename=filename[:200],
        stored=stored,
        kind=kind,
        total=total,
        status=Status.CHECKING if inline else Status.QUEUED,
    )
    if inline:
        _check(run, sheets)
    return run


def run_confirm(*, run: ImportRun) -> bool:
    """Queue the import of a clean dry run (a guarded update: a double click imports once)."""
    if not run.ready:
        return False
    inline = run.total <= INLINE_MAX_ROWS
    claimed = ImportRun.objects.filter(pk=run.pk, status=Status.CHECKED, problems=[]).update(
        status=Status.IMPORTING if inline else Status.IMPORT_QUEUED, done=0, updated_at=clock.now()
    )
    if claimed and inline:
        run.refresh_from_db()
        _import(run)
    return bool(claimed)


def claim_next() -> ImportRun | None:
    """The oldest run waiting for a worker (or abandoned by one), now claimed by this process."""
    stale = clock.now() - STALE_AFTER
    waiting = ImportRun.objects.filter(
        Q(status__in=[Status.QUEUED, Status.IMPORT_QUEUED])
        | Q(status__in=[Status.CHECKING, Status.IMPORTING], updated_at__lt=stale)
    ).order_by("created_at")
    for run in waiting[:5]:
        running = Status.CHECKING if run.status in (Status.QUEUED, Status.CHECKING) else Status.IMPORTING
        claimed = ImportRun.objects.filter(pk=run.pk, status=run.status, updated_at=run.updated_at).update(
            status=running, updated_at=clock.now()
        )
        if claimed:
            run.refresh_from_db()
            return run
    return None


def run_process(run: ImportRun) -> None:
    """Carry a claimed run through its phase (the worker's entry point); never raises."""
    try:
        _process(run)
    except DatabaseError:
        raise  # the worker waits for the database; the run, left claimed, is taken up again later
    except Exception as exc:
        # One broken file must not stop the worker loop, which runs every other job too.
        log.exception("import run %s failed", run.pk)
        _fail(run, _("处理文件时出错：%(error)s") % {"error": exc.__class__.__name__})


def _process(run: ImportRun) -> None:
    if run.status == Status.CHECKING:
        try:
            sheets = _load(run)
        except SheetError as exc:
            _fail(run, str(exc))
            return
        _check(run, sheets)
    elif run.status == Status.IMPORTING:
        _import(run)


def _load(run: ImportRun) -> list[Sheet]:
    with default_storage.open(run.stored, "rb") as stored:
        data = stored.read()
    return read_sheets(data, filename=run.filename, kind=run.kind or None)


def _progress(run: ImportRun) -> imports.Progress:
    def report(done: int) -> None:
        ImportRun.objects.filter(pk=run.pk).update(done=done, updated_at=clock.now())

    return report


def _check(run: ImportRun, sheets: list[Sheet]) -> None:
    """The dry run: every problem is stored; nothing else is written."""
    ImportRun.objects.filter(pk=run.pk).update(status=Status.CHECKING, done=0, updated_at=clock.now())
    checked = imports.check(sheets, progress=_progress(run))
    run.status, run.done = Status.CHECKED, run.total
    run.problems = [problem.as_dict() for problem in checked.problems]
    run.save(update_fields=["status", "done", "problems", "updated_at"])
    if run.problems:
        _discard(run)  # it can never be confirmed; the administrator uploads a corrected file


def _import(run: ImportRun) -> None:
    """Check again (the database may have changed since the dry run), then write sheet by sheet."""
    try:
        checked = imports.check(_load(run))
    except SheetError as exc:
        _fail(run, str(exc))
        return
    if checked.problems:
        run.problems = [problem.as_dict() for problem in checked.problems]
        _fail(run, _("数据在校验之后有了变化，再次校验发现问题；未写入任何数据，请修改后重新上传"))
        return
    ImportRun.objects.filter(pk=run.pk).update(done=0, updated_at=clock.now())
    try:
        report = imports.apply(checked, progress=_progress(run))
    except imports.ImportFailed as exc:
        log.warning("import %s failed: %s", run.pk, exc)
        _fail(run, exc.message())
        return
    run.status, run.done, run.report = Status.DONE, run.total, report.as_dict()
    run.save(update_fields=["status", "done", "report", "updated_at"])
    _discard(run)


def _fail(run: ImportRun, error: str) -> None:
    run.status, run.error = Status.FAILED, error
    run.save(update_fields=["status", "error", "problems", "updated_at"])
    _discard(run)


def _discard(run: ImportRun) -> None:
    """A run that ended needs its file no more (uploads hold names and phone numbers)."""
    default_storage.delete(run.stored)
