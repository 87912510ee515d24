"""Shared parts of the console's forms (unit and item pickers, multi-file fields) and the queue filters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from civicgrid.cases.models import Channel
from civicgrid.cases.states import Status
from civicgrid.catalogue.models import Item
from civicgrid.catalogue.selectors import items_active
from civicgrid.intake.queues import ConsoleFilters
from civicgrid.org.models import Unit
from civicgrid.org.selectors import unit_by_code

Choices = list[tuple[str, Any]]
PICKER = {"class": "unit-picker", "data-search-placeholder": _("输入名称或编码筛选")}
MULTI_PICKER = {**PICKER, "size": "6"}


def unit_choices(units: Sequence[Unit]) -> Choices:
    """Units grouped by kind (a plain grouped <select> without JavaScript), each with its parent's name."""
    names = {unit.code: unit.name for unit in units}
    groups: dict[str, Choices] = {kind: [] for kind in Unit.Kind.values}
    for unit in units:
        codes = unit.ancestor_codes()
        parent = names.get(codes[-2]) if len(codes) > 1 else None
        label = " · ".join(part for part in (unit.name, parent, unit.code) if part)
        groups[unit.kind].append((unit.code, label))
    return [(str(Unit.Kind(kind).label), options) for kind, options in groups.items() if options]


def item_choices(items: Iterable[Item]) -> Choices:
    """Active catalogue items grouped by domain."""
    groups: dict[str, Choices] = {}
    for item in items:
        groups.setdefault(item.domain.name, []).append((item.code, f"{item.code} {item.name}"))
    return list(groups.items())


def domain_choices(items: Iterable[Item]) -> Choices:
    """The domains of the active items, in the catalogue's order (read from the items already loaded)."""
    domains = {item.domain.code: item.domain for item in items}
    return [(d.code, d.name) for d in sorted(domains.values(), key=lambda d: (d.order, d.code))]


def choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name (photos of a resolution); each is checked by the upload rules."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(one, initial) for one in files if one]


class QueueFilterForm(forms.Form):
    """The filters above a queue (GET); an invalid filter is reported and left out, never fatal."""

    q = forms.CharField(label=_("搜索"), required=False, max_length=100, widget=forms.SearchInput)
    status = forms.ChoiceField(label=_("状态"), required=False)
    item = forms.ChoiceField(label=_("事项"), required=False)
    domain = forms.ChoiceField(label=_("领域"), required=False)
    place = forms.CharField(label=_("所在区域编码"), required=False, max_length=32)
    channel = forms.ChoiceField(label=_("渠道"), required=False)
    created_from = forms.DateField(
        label=_("登记日期从"), required=False, widget=forms.DateInput({"type": "date"})
    )
    created_to = forms.DateField(label=_("至"), required=False, widget=forms.DateInput({"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "status").choices = [("", gettext("全部状态")), *Status.choices]
        items = list(items_active())
        choice_field(self, "item").choices = [("", gettext("全部事项")), *item_choices(items)]
        choice_field(self, "domain").choices = [("", gettext("全部领域")), *domain_choices(items)]
        choice_field(self, "channel").choices = [("", gettext("全部渠道")), *Channel.choices]
        self.fields["q"].widget.attrs.update(
            {"placeholder": gettext("编号 / 来电号码 / 内容"), "data-shortcut": "/"}
        )

    def clean_place(self) -> Unit | None:
        code = self.cleaned_data["place"].strip()
        unit = unit_by_code(code=code) if code else None
        if code and unit is None:
            raise forms.ValidationError(gettext("未知单位编码 %(code)s") % {"code": code})
        return unit

    def filters(self) -> ConsoleFilters:
        """The valid filters (an invalid one is simply not applied)."""
        self.is_valid()
        data = self.cleaned_data
        return ConsoleFilters(
            status=data.get("status", ""),
            item_code=data.get("item", ""),
            domain_code=data.get("domain", ""),
            place=data.get("place"),
            channel=data.get("channel", ""),
            created_from=_day_start(data.get("created_from")),
            created_to=_day_start(data.get("created_to"), days_later=1),
            search=data.get("q", ""),
        )


def _day_start(day: date | None, *, days_later: int = 0) -> datetime | None:
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day + timedelta(days=days_later), time.min))
