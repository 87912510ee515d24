"""The console's action forms: one small form per case action; `run` calls that action's service."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from civicgrid.cases import services
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.models import Case, EvaluationChannel, Satisfaction
from civicgrid.cases.policy import pending_assignments_for
from civicgrid.cases.selectors import case_visible
from civicgrid.cases.states import Action
from civicgrid.catalogue.selectors import item_by_code, items_active
from civicgrid.intake.forms_action_base import ActionForm, optional_text
from civicgrid.intake.forms_console import (
    MULTI_PICKER,
    PICKER,
    MultipleFileField,
    choice_field,
    item_choices,
    unit_choices,
)
from civicgrid.intake.forms_exclusions import ExcludeForm, RefuseExclusionForm, RequestExclusionForm
from civicgrid.intake.queues import units_under
from civicgrid.org.models import Unit
from civicgrid.org.selectors import district_of


class AcceptForm(ActionForm):
    action, label = Action.ACCEPT, _("受理")
    item = forms.ChoiceField(label=_("事项"), required=False)
    note = forms.CharField(label=_("说明"), required=False, max_length=2000)

    def setup(self) -> None:
        choice_field(self, "item").choices = [("", gettext("（未分类）")), *item_choices(items_active())]
        self.initial["item"] = self.case.item.code if self.case.item else ""

    def run(self) -> Case:
        code = self.cleaned_data["item"]
        item = item_by_code(code=code) if code else None
        return services.case_accept(
            case=self.case, actor=self.user, item=item, note=self.cleaned_data["note"]
        )


class ReasonForm(ActionForm):
    reason = optional_text(_("理由"))


class RejectForm(ReasonForm):
    action, label = Action.REJECT, _("不予受理")

    def run(self) -> Case:
        return services.case_reject(case=self.case, actor=self.user, reason=self.cleaned_data["reason"])


class ReturnForm(ReasonForm):
    action, label = Action.RETURN, _("退单")

    def run(self) -> Case:
        return services.case_return(case=self.case, actor=self.user, reason=self.cleaned_data["reason"])


class DenyExtensionForm(ReasonForm):
    action, label = Action.DENY_EXTENSION, _("驳回延期")

    def run(self) -> Case:
        return services.case_deny_extension(
            case=self.case, actor=self.user, reason=self.cleaned_data["reason"]
        )


class ReopenForm(ReasonForm):
    action, label = Action.REOPEN, _("重办")

    def run(self) -> Case:
        return services.case_reopen(case=self.case, actor=self.user, reason=self.cleaned_data["reason"])


class WithdrawForm(ReasonForm):
    action, label = Action.WITHDRAW, _("撤回")

    def run(self) -> Case:
        return services.case_withdraw(case=self.case, actor=self.user, reason=self.cleaned_data["reason"])


class NoteOptionalForm(ActionForm):
    note = optional_text(_("说明（选填）"), rows=2)


class ApproveExtensionForm(NoteOptionalForm):
    action, label = Action.APPROVE_EXTENSION, _("批准延期")

    def run(self) -> Case:
        return services.case_approve_extension(
            case=self.case, actor=self.user, note=self.cleaned_data["note"]
        )


class EscalateForm(NoteOptionalForm):
    action, label = Action.ESCALATE, _("提级")

    def run(self) -> Case:
        return services.case_escalate(case=self.case, actor=self.user, note=self.cleaned_data["note"])


class CloseForm(NoteOptionalForm):
    action, label = Action.CLOSE, _("归档")

    def run(self) -> Case:
        return services.case_close(case=self.case, actor=self.user, note=self.cleaned_data["note"])


class SuperviseForm(ActionForm):
    action, label = Action.SUPERVISE, _("督办")
    note = optional_text(_("督办意见"))

    def run(self) -> Case:
        return services.case_supervise(case=self.case, actor=self.user, note=self.cleaned_data["note"])


class DispatchForm(ActionForm):
    """Lead and assisting units from the case's district, the lead pre-filled from the catalogue."""

    action, label = Action.DISPATCH, _("派单")
    lead = forms.ChoiceField(label=_("主办单位"), required=False, widget=forms.Select(PICKER))
    assist = forms.MultipleChoiceField(
        label=_("协办单位（可多选）"), required=False, widget=forms.SelectMultiple(MULTI_PICKER)
    )
    note = forms.CharField(label=_("派单说明"), required=False, max_length=2000)

    def setup(self) -> None:
        units = units_under(paths=(district_of(unit=self.case.place).path,))
        self.units = {unit.code: unit for unit in units}
        choice_field(self, "lead").choices = [("", gettext("请选择")), *unit_choices(units)]
        choice_field(self, "assist").choices = unit_choices(units)
        item = self.case.item
        default = item.default_handler_unit(place=self.case.place) if item is not None else None
        self.initial["lead"] = default.code if default is not None else ""

    def run(self) -> Case:
        code = self.cleaned_data["lead"]
        if not code:
            raise InvalidInput("lead", gettext("请选择主办单位"))
        assist = [self.units[c] for c in self.cleaned_data["assist"]]
        return services.case_dispatch(
            case=self.case,
            actor=self.user,
            lead=self.units[code],
            assist=assist,
            note=self.cleaned_data["note"],
        )


class AcknowledgeForm(ActionForm):
    """签收; asks which unit only when the user's units hold several waiting assignments."""

    action, label = Action.ACKNOWLEDGE, _("签收")
    unit = forms.ChoiceField(label=_("签收单位"), required=False)

    def setup(self) -> None:
        waiting = pending_assignments_for(case=self.case, actor=self.user)
        self.waiting = {a.unit.code: a.unit for a in waiting}
        if len(waiting) < 2:
            del self.fields["unit"]
            return
        choice_field(self, "unit").choices = [
            (a.unit.code, f"{a.unit.name}（{a.get_role_display()}）") for a in waiting
        ]

    def run(self) -> Case:
        unit = self.waiting.get(self.cleaned_data.get("unit") or "")
        return services.case_acknowledge(case=self.case, actor=self.user, unit=unit)


class RequestExtensionForm(ActionForm):
    action, label = Action.REQUEST_EXTENSION, _("申请延期")
    days = forms.IntegerField(
        label=_("延期工作日"), initial=3, widget=forms.NumberInput({"min": "1", "max": "30"})
    )
    reason = optional_text(_("理由"))

    def run(self) -> Case:
        data = self.cleaned_data
        return services.case_request_extension(
            case=self.case, actor=self.user, days=data["days"], reason=data["reason"]
        )


class SummonForm(ActionForm):
    action, label = Action.SUMMON, _("吹哨")
    units = forms.MultipleChoiceField(
        label=_("召集部门（可多选）"), required=False, widget=forms.SelectMultiple(MULTI_PICKER)
    )
    note = forms.CharField(label=_("说明"), required=False, max_length=2000)

    def setup(self) -> None:
        district = district_of(unit=self.case.place)
        departments = [u for u in units_under(paths=(district.path,)) if u.kind == Unit.Kind.DEPARTMENT]
        self.departments = {u.code: u for u in departments}
        choice_field(self, "units").choices = unit_choices(departments)

    def run(self) -> Case:
        units = [self.departments[c] for c in self.cleaned_data["units"]]
        return services.case_summon(
            case=self.case, actor=self.user, units=units, note=self.cleaned_data["note"]
        )


class ResolveForm(ActionForm):
    action, label = Action.RESOLVE, _("办结")
    result = optional_text(_("办理结果"), rows=4, max_length=5000)
    photos = MultipleFileField(label=_("照片（可多张）"), required=False)
    documents = MultipleFileField(label=_("文件（PDF）"), required=False)

    def clean(self) -> dict[str, Any]:
        self.check_uploads({"photos": "photo", "documents": "document"})
        return self.cleaned_data

    def run(self) -> Case:
        return services.case_resolve(
            case=self.case, actor=self.user, result=self.cleaned_data["result"], attachments=self.uploads
        )


class EvaluateForm(ActionForm):
    action, label = Action.EVALUATE, _("回访评价")
    solved = forms.TypedChoiceField(
        label=_("问题是否解决"),
        choices=[("yes", _("已解决")), ("no", _("未解决"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    satisfaction = forms.ChoiceField(
        label=_("满意度"), choices=Satisfaction.choices, widget=forms.RadioSelect
    )
    comment = optional_text(_("评价内容"), rows=2)
    channel = forms.ChoiceField(
        label=_("评价方式"), choices=EvaluationChannel.choices, initial=EvaluationChannel.CALLBACK
    )

    def run(self) -> Case:
        data = self.cleaned_data
        return services.case_evaluate(
            case=self.case,
            actor=self.user,
            solved=data["solved"],
            satisfaction=data["satisfaction"],
            comment=data["comment"],
            channel=data.get("channel", EvaluationChannel.CALLBACK),
        )


class CallbackForm(EvaluateForm):
    """回访: the case waited unrated too long; an operator phones the reporter and records the same
    two questions. Always a callback, so the form does not ask how the rating was given."""

    label = _("电话回访")

    def setup(self) -> None:
        del self.fields["channel"]  # without it, EvaluateForm records a callback


class MergeForm(ActionForm):
    action, label = Action.MERGE, _("合并")
    into = forms.CharField(label=_("合并到（诉求编号）"), required=False, max_length=20)

    def run(self) -> Case:
        number = self.cleaned_data["into"].strip()
        if not number:
            raise InvalidInput("into", gettext("请填写目标诉求编号"))
        target = case_visible(user=self.user, number=number)
        if target is None:
            raise InvalidInput("into", gettext("诉求 %(number)s 不存在或您无权查看") % {"number": number})
        return services.case_merge(case=self.case, actor=self.user, into=target)


class NoteForm(ActionForm):
    action, label = Action.NOTE, _("内部备注")
    text = optional_text(_("备注内容（仅工作人员可见）"), max_length=5000)
    photos = MultipleFileField(label=_("照片（可多张）"), required=False)
    documents = MultipleFileField(label=_("文件（PDF）"), required=False)

    def clean(self) -> dict[str, Any]:
        self.check_uploads({"photos": "photo", "documents": "document"})
        return self.cleaned_data

    def run(self) -> Case:
        return services.case_note(
            case=self.case, actor=self.user, text=self.cleaned_data["text"], attachments=self.uploads
        )


ACTION_FORMS: dict[str, type[ActionForm]] = {
    form.action.value: form
    for form in (
        AcceptForm,
        RejectForm,
        DispatchForm,
        AcknowledgeForm,
        ReturnForm,
        RequestExtensionForm,
        ApproveExtensionForm,
        DenyExtensionForm,
        EscalateForm,
        SummonForm,
        ResolveForm,
        EvaluateForm,
        ReopenForm,
        CloseForm,
        MergeForm,
        WithdrawForm,
        SuperviseForm,
        NoteForm,
        RequestExclusionForm,
        ExcludeForm,
        RefuseExclusionForm,
    )
}


def action_form(*, action: str, case: Case) -> type[ActionForm] | None:
    """The form of `action` on this case: a case in the callback queue (回访) is rated by phone."""
    if action == Action.EVALUATE and case.callback_requested_at is not None:
        return CallbackForm
    return ACTION_FORMS.get(action)
