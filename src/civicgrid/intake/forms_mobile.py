"""Forms of the grid worker's phone pages: 随手拍 (with on-the-spot handling) and the case actions."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.cases import services
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.models import Channel, Kind
from civicgrid.cases.uploads import CleanUpload, clean_upload
from civicgrid.catalogue.models import Item
from civicgrid.org.models import Building, Unit

DRAFT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# Never part of a draft's fingerprint: the token changes with every page, the body does not.
NOT_FINGERPRINTED = frozenset({"csrfmiddlewaretoken"})
Choices = list[tuple[str, Any]]
ROWS = {"rows": "3"}  # short boxes keep the submit button within reach on a phone screen


def new_draft_id() -> str:
    """The idempotency key a rendered 随手拍 form carries; a retry of the same draft reuses it."""
    return str(uuid.uuid4())


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class UploadsField(forms.FileField):
    """Several files of one kind, each checked by content (uploads.clean_upload)."""

    widget = MultipleFileInput

    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        self.kind = kind
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> tuple[CleanUpload, ...]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if self.required and not files:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return tuple(_checked(upload, self.kind) for upload in files if upload)


class UploadField(forms.FileField):
    """One optional file of one kind, checked by content."""

    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        self.kind = kind
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> CleanUpload | None:
        return _checked(data, self.kind) if data else None


def _checked(upload: UploadedFile[bytes], kind: str) -> CleanUpload:
    try:
        return clean_upload(upload=upload, kind=kind, field="upload")
    except InvalidInput as refused:
        raise forms.ValidationError(refused.message, code="upload") from None


def _photos(attrs: dict[str, str] | None = None) -> UploadsField:
    widget = MultipleFileInput(attrs={"accept": "image/*", **(attrs or {})})
    return UploadsField(kind="photo", widget=widget, label=gettext_lazy("照片"))


class SnapForm(forms.Form):
    """随手拍: a proactive report from the grid app; optionally handled on the spot in the same post."""

    draft_id = forms.CharField(widget=forms.HiddenInput, max_length=64)
    photos = _photos({"capture": "environment"})
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    lon = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)
    grid = forms.ChoiceField(label=gettext_lazy("网格"), required=False)
    building = forms.ChoiceField(label=gettext_lazy("楼栋"), required=False)
    address = forms.CharField(label=gettext_lazy("位置说明"), required=False, max_length=200)
    item = forms.ChoiceField(label=gettext_lazy("事项分类"), required=False)
    kind = forms.ChoiceField(
        label=gettext_lazy("类型"), choices=Kind.choices, initial=Kind.HELP, widget=forms.RadioSelect
    )
    description = forms.CharField(
        label=gettext_lazy("情况说明"), required=False, max_length=5000, widget=forms.Textarea(attrs=ROWS)
    )
    voice = UploadField(
        kind="voice", label=gettext_lazy("语音"), widget=forms.FileInput(attrs={"accept": "audio/*"})
    )
    on_the_spot = forms.BooleanField(label=gettext_lazy("小事一格解决 — 就地办结"), required=False)
    result = forms.CharField(
        label=gettext_lazy("处理结果"), required=False, max_length=5000, widget=forms.Textarea(attrs=ROWS)
    )
    after_photos = _photos()

    def __init__(
        self,
        *args: Any,
        grids: list[Unit],
        buildings: list[Building],
        items: list[Item],
        worked_grid_ids: frozenset[int],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.grids = {str(g.pk): g for g in grids}
        self.buildings = {str(b.pk): b for b in buildings}
        self.items = {str(i.pk): i for i in items}
        self.worked_grid_ids = worked_grid_ids
        self._choices(grids, buildings, items)

    def _choices(self, grids: list[Unit], buildings: list[Building], items: list[Item]) -> None:
        self._choice("grid").choices = [(str(g.pk), g.name) for g in grids]
        if len(grids) == 1:
            self._choice("grid").initial = str(grids[0].pk)
        none: Choices = [("", _("— 不指定楼栋 —"))]
        self._choice("building").choices = none + _grouped(
            [(b.grid.name, str(b.pk), b.name) for b in buildings]
        )
        blank: Choices = [("", _("— 暂不分类 —"))]
        self._choice("item").choices = blank + _grouped(
            [(i.domain.name, str(i.pk), f"{i.name}（{i.code}）") for i in items]
        )

    def _choice(self, name: str) -> forms.ChoiceField:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        return field

    def clean_draft_id(self) -> str:
        value: str = self.cleaned_data["draft_id"].strip()
        if not DRAFT_ID.match(value):
            raise forms.ValidationError(_("草稿编号无效，请重新打开随手拍"))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["place_grid"] = self._place_grid(data)
        if (
            not (data.get("description") or "").strip()
            and not data.get("voice")
            and "voice" not in self.errors
        ):
            self.add_error("description", _("请填写情况说明，或录一段语音"))
        if data.get("on_the_spot"):
            self._check_on_the_spot(data)
        return data

    def _place_grid(self, data: dict[str, Any]) -> Unit | None:
        building = self.buildings.get(data.get("building") or "")
        if building is not None:
            return building.grid
        grid = self.grids.get(data.get("grid") or "")
        if grid is None and len(self.grids) == 1:
            grid = next(iter(self.grids.values()))
        if grid is None:
            self.add_error("building", _("请选择楼栋或网格"))
        return grid

    def _check_on_the_spot(self, data: dict[str, Any]) -> None:
        if not (data.get("result") or "").strip():
            self.add_error("result", _("就地办结须填写处理结果"))
        grid = data.get("place_grid")
        if grid is not None and grid.pk not in self.worked_grid_ids:
            self.add_error(None, _("只有本网格的网格员可以就地办结"))

    def new_case(self) -> services.NewCase:
        """The intake service's input: a proactive case from the grid app."""
        data = self.cleaned_data
        voice: CleanUpload | None = data["voice"]
        description = data["description"].strip() or _("（语音上报，请听录音）")
        return services.NewCase(
            kind=data["kind"],
            description=description,
            place=None if data["building"] else data["place_grid"],
            building=self.buildings.get(data["building"] or ""),
            item=self.items.get(data["item"] or ""),
            address=data["address"],
            lat=data["lat"] if data["lon"] is not None else None,
            lon=data["lon"] if data["lat"] is not None else None,
            channel=Channel.GRID_APP,
            proactive=True,
            attachments=data["photos"] + ((voice,) if voice else ()),
        )

    def fingerprint(self) -> str:
        """What makes a retry the same draft: every posted field but the token, and each file's hash."""
        posted = self.data
        assert isinstance(posted, QueryDict)
        fields = {key: posted.getlist(key) for key in posted if key not in NOT_FINGERPRINTED}
        files = {key: [_sha256(f) for f in self.files.getlist(key)] for key in self.files}
        return services.request_fingerprint({"fields": fields, "files": files})


def _sha256(upload: UploadedFile[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _grouped(rows: list[tuple[str, str, str]]) -> Choices:
    """(group, value, label) rows → Django's grouped choices, keeping the rows' order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for group, value, label in rows:
        groups.setdefault(group, []).append((value, label))
    return list(groups.items())


class AcknowledgeForm(forms.Form):
    """签收: nothing to fill in; the unit reports in."""


class NoteForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("记录内容"), max_length=5000, widget=forms.Textarea(attrs=ROWS))
    photos = _photos({"capture": "environment"})


class ResolveForm(forms.Form):
    result = forms.CharField(
        label=gettext_lazy("处理结果"), max_length=5000, widget=forms.Textarea(attrs=ROWS)
    )
    photos = _photos({"capture": "environment"})


class ReturnForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("退单理由"),
        max_length=2000,
        widget=forms.Textarea(attrs=ROWS),
        error_messages={"required": gettext_lazy("请填写退单理由")},
    )


class EscalateForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("提级说明"), required=False, max_length=2000, widget=forms.Textarea(attrs=ROWS)
    )


ACTION_FORMS: dict[str, type[forms.Form]] = {
    "acknowledge": AcknowledgeForm,
    "note": NoteForm,
    "resolve": ResolveForm,
    "return": ReturnForm,
    "escalate": EscalateForm,
}
