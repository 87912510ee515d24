"""Forms of the resident pages: the three-step report (one form without JavaScript) and the rating."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.models import Channel, Kind, Satisfaction
from civicgrid.cases.services import NewCase, Reporter
from civicgrid.cases.uploads import CleanUpload, clean_upload
from civicgrid.catalogue.models import Item
from civicgrid.catalogue.selectors import items_active
from civicgrid.org.models import Building
from civicgrid.org.phones import normalise_phone

# The order residents meet them in: asking for help first, whistle-blowing last.
KIND_ORDER = (Kind.HELP, Kind.COMPLAINT, Kind.CONSULT, Kind.SUGGESTION, Kind.PRAISE, Kind.REPORT)
MAX_PHOTOS = 9  # what a phone's picker usually allows at once; more slows a weak connection to a halt
PHONE_DIGITS = (7, 12)  # a landline without area code up to a mobile with a leading 0


class MultipleFileInput(forms.FileInput):
    """A file input that hands every chosen file to the field."""

    allow_multiple_selected = True


class UploadsField(forms.Field):
    """Files checked by content with clean_upload; cleans to a tuple of CleanUpload."""

    def __init__(self, *, kind: str, most: int, **kwargs: Any) -> None:
        self.kind = kind
        self.most = most
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> tuple[CleanUpload, ...]:
        files: list[UploadedFile[bytes]] = [f for f in _as_list(value) if f]
        if self.required and not files:
            raise ValidationError(self.error_messages["required"], code="required")
        if len(files) > self.most:
            raise ValidationError(gettext("最多上传 %(most)d 个文件") % {"most": self.most}, code="too_many")
        try:
            return tuple(clean_upload(upload=f, kind=self.kind, field=self.kind) for f in files)
        except InvalidInput as refused:
            raise ValidationError(refused.message, code="refused") from None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def catalogue_choices() -> tuple[list[Any], dict[str, Item]]:
    """Active items grouped by domain for a <select>, and the items by code."""
    groups: dict[str, list[tuple[str, str]]] = {}
    items: dict[str, Item] = {}
    for item in items_active():
        groups.setdefault(item.domain.name, []).append((item.code, item.name))
        items[item.code] = item
    choices: list[Any] = [("", _("不清楚，由工作人员判断"))]
    return choices + [(domain, options) for domain, options in groups.items()], items


class ReportForm(forms.Form):
    """What happened, photos and voice, and how to reach the reporter; posted all at once."""

    kind = forms.ChoiceField(
        label=_("诉求类型"),
        choices=[(k.value, k.label) for k in KIND_ORDER],
        initial=Kind.HELP.value,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择诉求类型")},
    )
    description = forms.CharField(
        label=_("发生了什么"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": _("请描述时间、具体位置和情况")}),
        error_messages={"required": _("请填写发生了什么")},
    )
    item = forms.ChoiceField(label=_("问题类别（可不选）"), required=False)
    photos = UploadsField(
        kind="photo",
        most=MAX_PHOTOS,
        label=_("拍照"),
        widget=MultipleFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    voice = UploadsField(
        kind="voice", most=1, label=_("语音（可不录）"), widget=forms.FileInput(attrs={"accept": "audio/*"})
    )
    name = forms.CharField(label=_("称呼（可不填）"), max_length=50, required=False)
    phone = forms.CharField(
        label=_("联系电话（可不填，用于回访）"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    )
    anonymous = forms.BooleanField(label=_("匿名反映（不留姓名）"), required=False)
    confidential = forms.BooleanField(label=_("为我保密（办理单位看不到我的姓名和电话）"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices, self.items = catalogue_choices()
        self.fields["item"].choices = choices  # type: ignore[attr-defined]

    def clean_phone(self) -> str:
        phone = normalise_phone(self.cleaned_data["phone"])
        if phone and not PHONE_DIGITS[0] <= len(phone) <= PHONE_DIGITS[1]:
            raise ValidationError(gettext("请填写正确的手机号或固定电话"), code="phone")
        return phone

    def uploads(self) -> tuple[CleanUpload, ...]:
        return (*self.cleaned_data["photos"], *self.cleaned_data["voice"])

    def new_case(self, *, building: Building) -> NewCase:
        """The intake service's input for a report made at `building`'s QR sign."""
        data = self.cleaned_data
        anonymous: bool = data["anonymous"]
        return NewCase(
            kind=data["kind"],
            description=data["description"],
            place=building.grid,
            building=building,
            channel=Channel.QR,
            item=self.items.get(data["item"]),
            reporter=Reporter(
                # Anonymous means no name on the case at all, not a name hidden from some.
                name="" if anonymous else data["name"],
                phone=data["phone"],
                anonymous=anonymous,
                confidential=data["confidential"],
            ),
            attachments=self.uploads(),
        )


def photo_limit_mb() -> int:
    return int(settings.UPLOAD_MAX_PHOTO) // (1024 * 1024)


SOLVED_CHOICES = (("yes", _("是")), ("no", _("否")))


class RatingForm(forms.Form):
    """The two questions asked once per resolution, and an optional comment."""

    solved = forms.ChoiceField(
        label=_("问题是否解决？"),
        choices=SOLVED_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择问题是否解决")},
    )
    satisfaction = forms.ChoiceField(
        label=_("满意度"),
        choices=Satisfaction.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择满意度")},
    )
    comment = forms.CharField(
        label=_("意见建议（可不填）"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    @property
    def is_solved(self) -> bool:
        return bool(self.cleaned_data["solved"] == "yes")
