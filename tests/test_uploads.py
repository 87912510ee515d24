"""Uploads are judged by their content, limited in size, and photos lose their EXIF position."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.models import Attachment, Case
from civicgrid.cases.uploads import clean_upload
from tests.conftest import Town


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), "red")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (37.0, 21.0, 36.0), 3: "E", 4: (120.0, 24.0, 0.0)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_it_strips_exif_and_gps_from_photos() -> None:
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif()  # given: a photo that carries a position

    clean = clean_upload(upload=SimpleUploadedFile("a.jpg", original), kind="photo", field="photos")

    assert clean.content_type == "image/jpeg"
    assert not Image.open(io.BytesIO(clean.content)).getexif()


def test_it_refuses_a_forged_photo_whatever_its_name() -> None:
    forged = SimpleUploadedFile("cat.jpg", b"<?php system($_GET['c']); ?>", content_type="image/jpeg")

    with pytest.raises(InvalidInput) as refused:
        clean_upload(upload=forged, kind="photo", field="photos")

    assert refused.value.field == "photos"
    assert "cat.jpg" in refused.value.message


@override_settings(UPLOAD_MAX_VOICE=1024)
def test_it_refuses_a_recording_over_the_size_limit() -> None:
    big = SimpleUploadedFile("v.webm", b"\x1a\x45\xdf\xa3" + b"0" * 2048)

    with pytest.raises(InvalidInput):
        clean_upload(upload=big, kind="voice", field="voice")


def test_it_recognises_recordings_by_their_signature() -> None:
    m4a = b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 32

    assert (
        clean_upload(upload=SimpleUploadedFile("x.bin", m4a), kind="voice", field="v").content_type
        == "audio/mp4"
    )
    with pytest.raises(InvalidInput):
        clean_upload(upload=SimpleUploadedFile("x.webm", b"not audio at all"), kind="voice", field="v")


def test_it_stores_a_reports_photos_with_its_create_event(town: Town, integrator: User) -> None:
    photo = clean_upload(upload=SimpleUploadedFile("a.jpg", jpeg_with_gps()), kind="photo", field="photos")

    case = services.case_create(
        actor=integrator,
        new=services.NewCase(
            kind="help", description="井盖缺失", place=town.grid, channel="qr", attachments=(photo,)
        ),
    )

    attachment = Attachment.objects.get(case=case)
    assert attachment.event == case.events.get(seq=1)
    assert attachment.size == len(photo.content) and len(attachment.sha256) == 64
    assert attachment.file.name and default_storage.exists(attachment.file.name)


def test_it_removes_written_files_when_the_case_cannot_be_saved(town: Town, integrator: User) -> None:
    photo = clean_upload(upload=SimpleUploadedFile("a.jpg", jpeg_with_gps()), kind="photo", field="photos")
    before = set(_stored_files())

    with pytest.raises(InvalidInput):
        services.case_create(
            actor=integrator,
            new=services.NewCase(
                kind="help", description="x", place=town.urban, channel="qr", attachments=(photo,)
            ),
        )

    assert set(_stored_files()) == before
    assert not Case.objects.exists()


def _stored_files() -> list[str]:
    found: list[str] = []
    stack = [""]
    while stack:
        folder = stack.pop()
        if not default_storage.exists(folder or "."):
            continue
        dirs, files = default_storage.listdir(folder or ".")
        found += [f"{folder}/{f}" for f in files]
        stack += [f"{folder}/{d}".lstrip("/") for d in dirs]
    return found
