"""Checking what people upload: type by content (never by name), size limits, photos re-encoded.

Photos are decoded and re-encoded before they are stored, which drops EXIF (GPS position, device)
and anything hidden after the image data; only the re-encoded copy is kept.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from civicgrid.cases.errors import InvalidInput

MAX_PHOTO_SIDE = 2560  # pixels; a phone photo stays legible, the file stays small

# (prefix at offset 0, content type, extension); checked in order.
VOICE_SIGNATURES = (
    (b"\x1a\x45\xdf\xa3", "audio/webm", "webm"),
    (b"OggS", "audio/ogg", "ogg"),
    (b"#!AMR", "audio/amr", "amr"),
    (b"ID3", "audio/mpeg", "mp3"),
    (b"\xff\xfb", "audio/mpeg", "mp3"),
    (b"\xff\xf3", "audio/mpeg", "mp3"),
)
PHOTO_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/jpeg", "jpg"),
    "GIF": ("image/png", "png"),
    "MPO": ("image/jpeg", "jpg"),
}


@dataclass(frozen=True)
class CleanUpload:
    """An upload that passed the checks, ready to store."""

    kind: str  # photo, voice or document
    content: bytes
    content_type: str
    extension: str
    original_name: str


def _limit(kind: str) -> int:
    return {"photo": settings.UPLOAD_MAX_PHOTO, "voice": settings.UPLOAD_MAX_VOICE}.get(
        kind, settings.UPLOAD_MAX_DOCUMENT
    )


def _read(upload: UploadedFile[bytes], kind: str, field: str) -> bytes:
    limit = _limit(kind)
    if upload.size is not None and upload.size > limit:
        raise InvalidInput(
            field,
            _("文件“%(name)s”超过 %(mb)d MB 的上限") % {"name": upload.name, "mb": limit // (1024 * 1024)},
        )
    data: bytes = upload.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(
            field,
            _("文件“%(name)s”超过 %(mb)d MB 的上限") % {"name": upload.name, "mb": limit // (1024 * 1024)},
        )
    if not data:
        raise InvalidInput(field, _("文件“%(name)s”是空的") % {"name": upload.name})
    return data


def _photo(data: bytes, name: str, field: str) -> CleanUpload:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format or ""
            probe.verify()
        if fmt not in PHOTO_FORMATS:
            raise UnidentifiedImageError(fmt)
        with Image.open(io.BytesIO(data)) as image:
            upright = ImageOps.exif_transpose(image) or image
            upright.thumbnail((MAX_PHOTO_SIDE, MAX_PHOTO_SIDE))
            content_type, extension = PHOTO_FORMATS[fmt]
            out = io.BytesIO()
            if extension == "jpg":
                upright.convert("RGB").save(out, format="JPEG", quality=85, optimize=True)
            else:
                upright.save(out, format="PNG", optimize=True)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        raise InvalidInput(
            field, _("“%(name)s”不是可识别的照片（支持 JPEG、PNG、WebP）") % {"name": name}
        ) from None
    return CleanUpload("photo", out.getvalue(), content_type, extension, name)


def _voice(data: bytes, name: str, field: str) -> CleanUpload:
    for prefix, content_type, extension in VOICE_SIGNATURES:
        if data.startswith(prefix):
            return CleanUpload("voice", data, content_type, extension, name)
    if data[4:8] == b"ftyp":  # MP4 family: m4a from iPhones, mp4 from Android recorders
        return CleanUpload("voice", data, "audio/mp4", "m4a", name)
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return CleanUpload("voice", data, "audio/wav", "wav", name)
    raise InvalidInput(
        field, _("“%(name)s”不是可识别的录音（支持 WebM、Ogg、MP4/M4A、MP3、WAV、AMR）") % {"name": name}
    )


def _document(data: bytes, name: str, field: str) -> CleanUpload:
    if data.startswith(b"%PDF-"):
        return CleanUpload("document", data, "application/pdf", "pdf", name)
    raise InvalidInput(field, _("“%(name)s”不是 PDF 文件") % {"name": name})


def clean_upload(*, upload: UploadedFile[bytes], kind: str, field: str) -> CleanUpload:
    """Check one upload of the given kind; raise InvalidInput naming `field` with a clear reason."""
    data = _read(upload, kind, field)
    name = (upload.name or "")[:100]
    if kind == "photo":
        return _photo(data, name, field)
    if kind == "voice":
        return _voice(data, name, field)
    return _document(data, name, field)
