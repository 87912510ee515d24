"""Forms of the setup pages: the spreadsheet upload and the QR sign sheet's unit."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.ops.sheets import LAYOUTS, Sheet, SheetError, read_sheets
from civicgrid.org.models import Building, Unit

XLSX_MAGIC = b"PK\x03\x04"  # an .xlsx is a zip archive


def kind_choices() -> list[tuple[str, Any]]:
    return [("", gettext_lazy("自动识别（按工作表名或表头）"))] + [
        (kind, layout.title) for kind, layout in LAYOUTS.items()
    ]


class ImportUploadForm(forms.Form):
    """An xlsx (several sheets) or a csv (one kind); read here, so a broken file never gets stored."""

    file = forms.FileField(label=gettext_lazy("表格文件（.xlsx 或 .csv）"))
    kind = forms.ChoiceField(
        label=gettext_lazy("CSV 的内容"),
        choices=kind_choices,
        required=False,
        help_text=gettext_lazy("仅对 CSV 有效；Excel 文件按工作表名（区域、楼栋、住户、人员）识别。"),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("file")
        if upload is None:
            return cleaned
        data = self._read(upload)
        name = upload.name or ""
        if name.lower().endswith(".xlsx") and not data.startswith(XLSX_MAGIC):
            raise forms.ValidationError({"file": _("该文件不是有效的 .xlsx 文件")})
        try:
            sheets: list[Sheet] = read_sheets(data, filename=name, kind=cleaned.get("kind") or None)
        except SheetError as exc:
            raise forms.ValidationError({"file": str(exc)}) from exc
        cleaned.update(data=data, sheets=sheets, filename=name)
        return cleaned

    def _read(self, upload: Any) -> bytes:
        limit = settings.UPLOAD_MAX_DOCUMENT
        if upload.size is not None and upload.size > limit:
            raise forms.ValidationError(
                {"file": _("文件超过 %(mb)d MB 的上限") % {"mb": limit // (1024 * 1024)}}
            )
        data: bytes = upload.read()
        if not data:
            raise forms.ValidationError({"file": _("文件是空的")})
        return data


class QrSheetForm(forms.Form):
    """Which area to print signs for: a grid, a community or any area above them."""

    unit = forms.CharField(
        label=gettext_lazy("网格或社区编码"),
        max_length=32,
        widget=forms.TextInput(attrs={"list": "area-codes", "autocomplete": "off"}),
    )

    def clean_unit(self) -> Unit:
        code = self.cleaned_data["unit"].strip()
        unit = Unit.objects.filter(code=code).first()
        if unit is None:
            raise forms.ValidationError(_("编码“%(code)s”不存在") % {"code": code})
        if not unit.is_area:
            raise forms.ValidationError(_("“%(name)s”是职能部门，没有楼栋") % {"name": unit.name})
        return unit


class BuildingCodeForm(forms.Form):
    """One building's code: its QR code alone, as a PNG."""

    building = forms.CharField(label=gettext_lazy("楼栋编码"), max_length=40)

    def clean_building(self) -> Building:
        code = self.cleaned_data["building"].strip()
        building = Building.objects.filter(code=code).first()
        if building is None:
            raise forms.ValidationError(_("楼栋编码“%(code)s”不存在") % {"code": code})
        return building
