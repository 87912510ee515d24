"""Storing checked uploads with the event they belong to (a report's photos, a resolution's after-photo)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.cases.models import Attachment, Case, Event
from civicgrid.cases.uploads import CleanUpload


def _store(upload: CleanUpload) -> str:
    moment = clock.now()
    name = f"cases/{moment:%Y/%m}/{uuid.uuid4().hex}.{upload.extension}"
    return default_storage.save(name, ContentFile(upload.content))


@contextmanager
def files_kept_only_on_success(names: list[str]) -> Iterator[None]:
    """Files are not transactional: if the database work fails, remove what was written."""
    try:
        yield
    except BaseException:
        for name in names:
            default_storage.delete(name)
        raise


def attachments_add(
    *, case: Case, event: Event, actor: User | None, uploads: Sequence[CleanUpload], written: list[str]
) -> list[Attachment]:
    """Store `uploads` and record them on `event`; `written` collects file names for clean-up."""
    rows: list[Attachment] = []
    for upload in uploads:
        name = _store(upload)
        written.append(name)
        rows.append(
            Attachment(
                case=case,
                event=event,
                kind=upload.kind,
                file=name,
                content_type=upload.content_type,
                size=len(upload.content),
                sha256=hashlib.sha256(upload.content).hexdigest(),
                uploaded_by=actor,
                created_at=clock.now(),
            )
        )
    return Attachment.objects.bulk_create(rows)
