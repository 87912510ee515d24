"""The base of the console's action forms: one small form per case action; `run` calls its service."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django_stubs_ext import StrOrPromise

from civicgrid.accounts.models import User
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.models import Case
from civicgrid.cases.states import Action
from civicgrid.cases.uploads import CleanUpload, clean_upload


def optional_text(label: StrOrPromise, *, rows: int = 3, max_length: int = 2000) -> forms.CharField:
    """An optional text box: the service decides whether it may be empty and says so."""
    return forms.CharField(
        label=label, required=False, max_length=max_length, widget=forms.Textarea({"rows": rows})
    )


class ActionForm(forms.Form):
    """One action's small form. `run` calls the action's service, which checks right, state and input."""

    action: ClassVar[Action]
    label: ClassVar[StrOrPromise]
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, data: Any = None, files: Any = None, *, case: Case, user: User) -> None:
        super().__init__(data, files, auto_id=f"id_{self.action.value}_%s", initial={"version": case.version})
        self.case = case
        self.user = user
        self.uploads: tuple[CleanUpload, ...] = ()
        self.setup()

    def setup(self) -> None:
        """Choices and initial values that depend on the case."""

    def run(self) -> Case:
        raise NotImplementedError

    def check_uploads(self, kinds: dict[str, str]) -> None:
        """Run every file through the upload checks; a refused one becomes an error on its field."""
        checked: list[CleanUpload] = []
        for field, kind in kinds.items():
            for upload in self.cleaned_data.get(field) or []:
                try:
                    checked.append(clean_upload(upload=upload, kind=kind, field=field))
                except InvalidInput as refused:
                    self.add_error(field, refused.message)
        self.uploads = tuple(checked)
