"""Helpers of the console page tests: a signed-in client, page text, a fresh case, a small photo."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.models import Attachment, Case
from civicgrid.cases.uploads import clean_upload


def console(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined, no-any-return]


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), "green").save(out, format="JPEG")
    return out.getvalue()


def with_photo(case: Case, actor: User) -> Attachment:
    photo = clean_upload(upload=SimpleUploadedFile("p.jpg", jpeg()), kind="photo", field="photos")
    services.case_note(case=case, actor=actor, text="现场照片", attachments=(photo,))
    return Attachment.objects.get(case=case, kind="photo")


def action_url(case: Case, action: str) -> str:
    return f"/console/cases/{case.number}/actions/{action}/"
