"""The console's forms for 考核剔除: a unit asks to exclude a case from its figures, a supervisor decides."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from civicgrid.cases.models import Case, ExclusionRequest
from civicgrid.cases.policy import assessed_units
from civicgrid.cases.services.exclusions import case_exclude, case_refuse_exclusion, case_request_exclusion
from civicgrid.cases.states import Action
from civicgrid.intake.forms_action_base import ActionForm, optional_text
from civicgrid.intake.forms_console import choice_field, unit_choices


class RequestExclusionForm(ActionForm):
    """考核剔除; asks which unit only when several of the user's units count the case."""

    action, label = Action.REQUEST_EXCLUSION, _("申请考核剔除")
    reason = forms.ChoiceField(
        label=_("剔除理由"), choices=ExclusionRequest.Reason.choices, widget=forms.RadioSelect
    )
    note = optional_text(_("情况说明"))
    unit = forms.ChoiceField(label=_("申请单位"), required=False)

    def setup(self) -> None:
        units = assessed_units(case=self.case, user=self.user)
        self.units = {unit.code: unit for unit in units}
        if len(units) < 2:
            del self.fields["unit"]
            return
        choice_field(self, "unit").choices = unit_choices(units)

    def run(self) -> Case:
        data = self.cleaned_data
        return case_request_exclusion(
            case=self.case,
            actor=self.user,
            reason=data["reason"],
            note=data["note"],
            unit=self.units.get(data.get("unit") or ""),
        )


class ExcludeForm(ActionForm):
    """Approves the request waiting on the case (the page shows it; one waits at a time)."""

    action, label = Action.EXCLUDE, _("批准剔除")
    note = optional_text(_("审核意见（选填）"), rows=2)

    def run(self) -> Case:
        return case_exclude(case=self.case, actor=self.user, note=self.cleaned_data["note"])


class RefuseExclusionForm(ActionForm):
    action, label = Action.REFUSE_EXCLUSION, _("驳回剔除")
    note = optional_text(_("驳回理由"))

    def run(self) -> Case:
        return case_refuse_exclusion(case=self.case, actor=self.user, note=self.cleaned_data["note"])
