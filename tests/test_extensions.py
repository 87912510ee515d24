"""Extension requests die with the lead that asked: a new lead may ask afresh."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.models import Case, ExtensionRequest
from civicgrid.cases.policy import allowed_actions
from tests.conftest import Town


def test_it_lapses_a_pending_request_when_the_case_is_returned(
    case_in: Callable[[str], Case], chen: User, sun: User, centre: User, supervisor: User, town: Town
) -> None:
    case = case_in("in_progress")
    services.case_request_extension(case=case, actor=chen, days=3, reason="需协调")

    services.case_return(case=case, actor=chen, reason="非本部门职责")
    services.case_dispatch(case=case, actor=centre, lead=town.water)
    services.case_acknowledge(case=case, actor=sun)

    assert ExtensionRequest.objects.get().status == ExtensionRequest.Status.LAPSED
    assert "approve_extension" not in allowed_actions(case=case, user=supervisor)
    assert "request_extension" in allowed_actions(case=case, user=sun)


def test_it_lapses_a_pending_request_when_the_case_is_resolved(
    case_in: Callable[[str], Case], chen: User, supervisor: User
) -> None:
    case = case_in("in_progress")
    services.case_request_extension(case=case, actor=chen, days=3, reason="需协调")

    services.case_resolve(case=case, actor=chen, result="已处理")

    assert ExtensionRequest.objects.get().status == ExtensionRequest.Status.LAPSED


def test_it_refuses_to_merge_into_an_ended_case(case_in: Callable[[str], Case], centre: User) -> None:
    duplicate, finished = case_in("accepted"), case_in("closed")

    with pytest.raises(InvalidInput):
        services.case_merge(case=duplicate, actor=centre, into=finished)

    assert Case.objects.get(pk=duplicate.pk).status == "accepted"
