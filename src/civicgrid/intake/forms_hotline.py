"""The hotline entry form (一号通办): caller, kind, item, place, text, and the unit to dispatch to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.models import Channel, Kind
from civicgrid.catalogue.models import Item
from civicgrid.catalogue.selectors import item_by_code
from civicgrid.intake.forms_console import PICKER, choice_field, unit_choices
from civicgrid.intake.queues import building_by_code
from civicgrid.org.models import Building, Unit

AREA_KINDS = frozenset(Unit.AREA_KINDS)


def _first_word(text: str) -> str:
    """'ZHZF-301 占道经营' → 'ZHZF-301': a type-ahead entry starts with its code."""
    words = text.split()
    return words[0] if words else ""


def _keys(accesskey: str, **attrs: str) -> dict[str, str]:
    return {"accesskey": accesskey, **attrs}


class HotlineForm(forms.Form):
    """Fields in the order an operator asks for them; the services validate what a case needs."""

    phone = forms.CharField(
        label=_("来电号码"),
        required=False,
        max_length=30,
        widget=forms.TelInput(_keys("p", inputmode="tel", autocomplete="off", autofocus="autofocus")),
    )
    name = forms.CharField(label=_("来电人姓名"), required=False, max_length=50)
    kind = forms.ChoiceField(label=_("诉求类型"), widget=forms.Select(_keys("k")))
    item = forms.CharField(
        label=_("事项（输入编码或名称）"),
        required=False,
        max_length=120,
        widget=forms.TextInput(_keys("i", list="hotline-items", autocomplete="off")),
    )
    building = forms.CharField(
        label=_("楼栋（输入编码、名称或地址）"),
        required=False,
        max_length=120,
        widget=forms.TextInput(_keys("b", list="hotline-buildings", autocomplete="off")),
    )
    grid = forms.ChoiceField(label=_("或所在区域"), required=False, widget=forms.Select(PICKER))
    address = forms.CharField(label=_("详细地址"), required=False, max_length=200)
    title = forms.CharField(label=_("标题（选填）"), required=False, max_length=100)
    description = forms.CharField(
        label=_("诉求内容"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(_keys("t", rows="4")),
    )
    confidential = forms.BooleanField(label=_("来电人要求保密"), required=False)
    lead = forms.ChoiceField(
        label=_("主办单位（受理并派单时；留空则按事项默认承办单位）"),
        required=False,
        widget=forms.Select({**PICKER, "accesskey": "l"}),
    )

    def __init__(self, *args: Any, user: User, units: Sequence[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.units = {unit.code: unit for unit in units}
        choice_field(self, "kind").choices = [("", gettext("请选择")), *Kind.choices]
        areas = [unit for unit in units if unit.kind in AREA_KINDS]
        choice_field(self, "grid").choices = [("", gettext("（按楼栋确定）")), *unit_choices(areas)]
        choice_field(self, "lead").choices = [("", gettext("按事项默认承办单位")), *unit_choices(list(units))]

    def clean_item(self) -> Item | None:
        code = _first_word(self.cleaned_data["item"])
        if not code:
            return None
        item = item_by_code(code=code)
        if item is None or not item.active:
            raise forms.ValidationError(gettext("未知或已停用的事项：%(code)s") % {"code": code})
        return item

    def clean_building(self) -> Building | None:
        code = _first_word(self.cleaned_data["building"])
        if not code:
            return None
        building = building_by_code(user=self.user, code=code)
        if building is None:
            raise forms.ValidationError(gettext("本辖区内没有编码为 %(code)s 的楼栋") % {"code": code})
        return building

    def new_case(self) -> services.NewCase:
        """What the intake service needs, with the hotline channel and the caller as reporter."""
        data = self.cleaned_data
        return services.NewCase(
            kind=data["kind"],
            description=data["description"],
            title=data["title"],
            item=data["item"],
            place=self.units.get(data["grid"]),
            building=data["building"],
            address=data["address"],
            channel=Channel.HOTLINE,
            reporter=services.Reporter(
                name=data["name"], phone=data["phone"], confidential=data["confidential"]
            ),
        )

    def chosen_lead(self) -> Unit | None:
        return self.units.get(self.cleaned_data.get("lead") or "")
