"""Open311 GeoReport v2: discovery, services, requests in JSON and XML, api_keys, errors, privacy."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.models import Case, Channel
from civicgrid.intake.management.commands.apikey import apikey_create
from civicgrid.intake.models import ApiKey
from civicgrid.org.models import Building
from tests.conftest import CaseMaker, Town, at

BASE = "/open311/v2"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_FIELDS = {
    *("service_request_id", "status", "status_notes", "service_name", "service_code", "description"),
    *("agency_responsible", "service_notice", "requested_datetime", "updated_datetime"),
    *("expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"),
}


@pytest.fixture
def key(town: Town) -> str:
    """The clear api_key of the district app's Open311 integration."""
    _key, raw = apikey_create(name="district-app")
    return raw


def get(path: str, **params: str) -> Any:
    return Client().get(f"{BASE}/{path}", params)


def post(fields: dict[str, str], fmt: str = "json") -> Any:
    """A form-encoded POST, as the spec sends it, from a client with no CSRF token."""
    return Client(enforce_csrf_checks=True).post(
        f"{BASE}/requests.{fmt}", urlencode(fields), content_type=FORM
    )


def report(key: str, **fields: str) -> dict[str, str]:
    return {"api_key": key, "service_code": "ZHZF-301", "description": "门前占道摆摊", **fields}


def xml_of(response: Any) -> ET.Element:
    assert response["Content-Type"].startswith("text/xml")
    return ET.fromstring(response.content)


# Discovery and services --------------------------------------------------------------------------


def test_it_describes_the_endpoint_in_discovery(db: None) -> None:
    as_json = get("discovery.json")
    as_xml = xml_of(get("discovery.xml"))

    assert as_json.status_code == 200
    body = as_json.json()
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(body)
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert as_xml.tag == "discovery"
    formats = as_xml.findall("endpoints/endpoint/formats/format")
    assert [f.text for f in formats] == ["text/xml", "application/json"]


def test_it_lists_the_active_catalogue_as_services_in_json(town: Town) -> None:
    town.urgent_item.active = False
    town.urgent_item.save()

    response = get("services.json", jurisdiction_id="xc.gov.cn")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    (service,) = response.json()
    assert set(service) == SERVICE_FIELDS
    assert service["service_code"] == "ZHZF-301"
    assert service["service_name"] == "占道经营"
    assert (service["metadata"], service["type"], service["group"]) == (False, "realtime", "综合执法")


def test_it_lists_services_in_xml_with_every_required_field(town: Town) -> None:
    root = xml_of(get("services.xml"))

    assert root.tag == "services"
    services_ = root.findall("service")
    assert len(services_) == 2
    assert all({child.tag for child in service} == SERVICE_FIELDS for service in services_)
    assert root.findtext("service/metadata") == "false"


def test_it_gives_an_empty_definition_for_a_service(town: Town) -> None:
    as_json = get("services/ZHZF-301.json")
    as_xml = xml_of(get("services/ZHZF-301.xml"))

    assert as_json.json() == {"service_code": "ZHZF-301", "attributes": []}
    assert as_xml.tag == "service_definition"
    assert as_xml.find("attributes") is not None


def test_it_answers_404_for_an_unknown_service_definition(town: Town) -> None:
    response = get("services/NOPE.json")

    assert response.status_code == 404
    assert response.json()[0]["code"] == 404


# Posting a request -------------------------------------------------------------------------------


def test_it_creates_a_case_on_the_buildings_grid_from_a_post(town: Town, key: str) -> None:
    fields = report(key, address_id="B-0001", first_name="三", last_name="张", phone="138-1234-1234")
    ignored = {"jurisdiction_id": "xc.gov.cn", "device_id": "d1", "account_id": "42"}

    response = post({**fields, **ignored})

    assert response.status_code == 200, response.content
    (created,) = response.json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    case = Case.objects.get(number=created["service_request_id"])
    assert (case.place, case.building, case.item) == (town.grid, town.building, town.item)
    assert (case.channel, case.kind, case.status) == (Channel.API, "complaint", "submitted")
    assert (case.reporter_name, case.reporter_phone) == ("张三", "13812341234")
    assert case.created_by is not None and case.created_by.username == "open311-district-app"
    assert case.created_by.posts.count() == 0


def test_it_accepts_a_multipart_post_too(town: Town, key: str) -> None:
    response = Client().post(f"{BASE}/requests.json", report(key, address_id="B-0001"))

    assert response.status_code == 200, response.content
    assert Case.objects.count() == 1


def test_it_answers_a_post_in_xml_as_service_requests(town: Town, key: str) -> None:
    root = xml_of(post(report(key, address_id="B-0001"), fmt="xml"))

    assert root.tag == "service_requests"
    assert Case.objects.filter(number=root.findtext("request/service_request_id")).exists()


def test_it_keeps_the_media_url_in_the_description(town: Town, key: str) -> None:
    post(report(key, address_id="B-0001", media_url="https://img.example.cn/1.jpg", email="a@b.cn"))

    case = Case.objects.get()
    assert case.description == "门前占道摆摊\n\n附件链接：https://img.example.cn/1.jpg"


def test_it_takes_the_case_kind_from_the_kind_attribute(town: Town, key: str) -> None:
    post(report(key, address_id="B-0001", **{"attribute[kind]": "report"}))

    case = Case.objects.get()
    assert (case.kind, case.reporter_confidential) == ("report", True)


def test_it_places_a_case_on_the_grid_of_the_nearest_building(town: Town, key: str) -> None:
    Building.objects.filter(pk=town.building.pk).update(lat=39.9400, lon=116.3700)
    Building.objects.create(grid=town.far_grid, code="B-0002", name="东里2号楼", lat=39.9420, lon=116.3700)

    post(report(key, lat="39.9403", long="116.3702"))  # about 40 m from B-0001, 200 m from B-0002

    case = Case.objects.get()
    assert (case.place, case.building, case.lat, case.lon) == (town.grid, None, 39.9403, 116.3702)


def test_it_places_a_case_far_from_every_building_on_the_district(town: Town, key: str) -> None:
    Building.objects.filter(pk=town.building.pk).update(lat=39.9400, lon=116.3700)

    post(report(key, lat="39.9500", long="116.3700"))  # about 1.1 km north

    assert Case.objects.get().place == town.district


def test_it_places_a_case_at_a_known_address_on_that_buildings_grid(town: Town, key: str) -> None:
    post(report(key, address_string="西里1号"))

    assert Case.objects.get().place == town.grid


def test_it_places_an_address_only_case_on_the_district(town: Town, key: str) -> None:
    response = post(report(key, address_string="新街口外大街"))

    assert response.status_code == 200
    assert (Case.objects.get().place, Case.objects.get().address) == (town.district, "新街口外大街")


@pytest.mark.parametrize("api_key", [None, "", "o311_not-a-key"])
def test_it_refuses_a_post_without_a_valid_key(town: Town, api_key: str | None) -> None:
    fields = report(api_key or "", address_id="B-0001")
    if api_key is None:
        del fields["api_key"]

    response = post(fields)

    assert response.status_code == 403
    (error,) = response.json()
    assert error["code"] == 403 and error["description"]
    assert not Case.objects.exists()


def test_it_refuses_a_revoked_key_in_xml(town: Town, key: str) -> None:
    ApiKey.objects.update(revoked=True)

    response = post(report(key, address_id="B-0001"), fmt="xml")

    assert response.status_code == 403
    root = xml_of(response)
    assert (root.tag, root.findtext("error/code")) == ("errors", "403")


@pytest.mark.parametrize("missing", ["service_code", "description"])
def test_it_requires_service_code_and_description(town: Town, key: str, missing: str) -> None:
    fields = report(key, address_id="B-0001")
    del fields[missing]

    response = post(fields)

    assert response.status_code == 400
    assert missing in response.json()[0]["description"]
    assert not Case.objects.exists()


def test_it_answers_404_for_an_unknown_service_code(town: Town, key: str) -> None:
    response = post(report(key, address_id="B-0001", service_code="NOPE"))

    assert response.status_code == 404
    assert response.json()[0]["code"] == 404
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    "bad",
    [
        {},  # no location at all
        {"lat": "39.9"},  # lat without long
        {"lat": "north", "long": "116.3"},
        {"lat": "nan", "long": "116.3"},
        {"lat": "91", "long": "116.3"},
        {"address_id": "B-9999"},
        {"address_id": "B-0001", "media_url": "javascript:alert(1)"},
        {"address_id": "B-0001", "attribute[kind]": "reprot"},
        {"address_id": "B-0001", "description": "x" * 4001},
        {"address_id": "B-0001", "description": "a\x00b"},
        {"address_id": "B-0001", "first_name": "名" * 51},
    ],
)
def test_it_refuses_bad_input_without_writing_anything(town: Town, key: str, bad: dict[str, str]) -> None:
    response = post(report(key, **bad))

    assert response.status_code == 400, response.content
    assert response.json()[0]["code"] == 400
    assert not Case.objects.exists()


def test_it_refuses_an_unparseable_body_in_open311_form(town: Town, key: str) -> None:
    response = Client().post(
        f"{BASE}/requests.json", data=f"api_key={key}", content_type="multipart/form-data"
    )

    assert response.status_code == 400
    assert response.json()[0]["code"] == 400


@pytest.mark.parametrize("method, path", [("delete", "requests.json"), ("post", "services.json")])
def test_it_refuses_an_unsupported_method(db: None, method: str, path: str) -> None:
    response = getattr(Client(enforce_csrf_checks=True), method)(f"{BASE}/{path}")

    assert response.status_code == 405
    assert response.json()[0]["code"] == 405


# Reading requests --------------------------------------------------------------------------------


def numbers(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {request["service_request_id"] for request in response.json()}


def test_it_lists_requests_with_the_fields_of_the_spec(new_case: CaseMaker) -> None:
    case = new_case(lat=39.94, lon=116.37, address="西里1号楼前")

    (request,) = get("requests.json").json()

    assert set(request) == REQUEST_FIELDS
    assert request["service_request_id"] == case.number
    assert (request["status"], request["status_notes"]) == ("open", "待受理")
    assert (request["service_code"], request["service_name"]) == ("ZHZF-301", "占道经营")
    assert (request["address"], request["address_id"]) == ("西里1号楼前", "B-0001")
    assert (request["lat"], request["long"]) == (39.94, 116.37)
    assert request["requested_datetime"].endswith("+08:00")


def test_it_lists_requests_in_one_query(
    case_in: Callable[[str], Case], django_assert_num_queries: Any
) -> None:
    for status in ("submitted", "dispatched", "closed"):
        case_in(status)

    with django_assert_num_queries(1):
        response = get("requests.json")

    assert len(response.json()) == 3


def test_it_maps_statuses_to_open_and_closed(case_in: Callable[[str], Case]) -> None:
    statuses = ["submitted", "in_progress", "resolved", "closed", "rejected", "withdrawn"]
    made = {status: case_in(status).number for status in statuses}

    opened = numbers(get("requests.json", status="open"))
    closed = numbers(get("requests.json", status="closed"))

    assert opened == {made[s] for s in ("submitted", "in_progress", "resolved")}
    assert {made[s] for s in ("closed", "rejected", "withdrawn")} <= closed
    assert numbers(get("requests.json", status="open,closed")) == opened | closed


def test_it_shows_the_latest_public_note_and_the_agency(case_in: Callable[[str], Case]) -> None:
    case = case_in("resolved")

    (request,) = get(f"requests/{case.number}.json").json()

    assert request["status_notes"] == "已劝离摊贩"
    assert request["agency_responsible"] == "城管局"
    assert request["expected_datetime"] is not None


def test_it_filters_requests_by_service_code(town: Town, new_case: CaseMaker) -> None:
    blocked = new_case()
    leaking = new_case(item=town.urgent_item)

    assert numbers(get("requests.json", service_code="ZHZF-101")) == {leaking.number}
    assert numbers(get("requests.json", service_code="ZHZF-101,ZHZF-301")) == {blocked.number, leaking.number}


def test_it_filters_requests_by_date_range(new_case: CaseMaker) -> None:
    with time_machine.travel(at("2026-03-01 10:00"), tick=False):
        march = new_case()
    with time_machine.travel(at("2026-05-01 10:00"), tick=False):
        may = new_case()

    with time_machine.travel(at("2026-05-02 10:00"), tick=False):
        recent = numbers(get("requests.json"))
        spring = numbers(
            get("requests.json", start_date="2026-02-01T00:00:00+08:00", end_date="2026-03-31T00:00:00+08:00")
        )
        from_april = numbers(get("requests.json", start_date="2026-04-01T00:00:00Z"))

    assert (recent, spring, from_april) == ({march.number, may.number}, {march.number}, {may.number})


def test_it_leaves_out_requests_older_than_ninety_days_by_default(new_case: CaseMaker) -> None:
    with time_machine.travel(at("2026-01-01 10:00"), tick=False):
        new_case()

    with time_machine.travel(at("2026-05-01 10:00"), tick=False):
        assert numbers(get("requests.json")) == set()


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "yesterday"},
        {"start_date": "2026-13-01T00:00:00Z"},
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
        {"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
        {"end_date": "0001-01-01T00:00:00Z"},
        {"status": "pending"},
    ],
)
def test_it_refuses_bad_filters(db: None, params: dict[str, str]) -> None:
    response = get("requests.json", **params)

    assert response.status_code == 400
    assert response.json()[0]["code"] == 400


def test_it_finds_requests_by_id_whatever_the_other_filters(new_case: CaseMaker) -> None:
    first, second, _third = new_case(), new_case(), new_case()

    found = numbers(
        get("requests.json", service_request_id=f"{first.number},{second.number}", status="closed")
    )

    assert found == {first.number, second.number}


def test_it_never_shows_the_reporters_name_or_phone(case_in: Callable[[str], Case]) -> None:
    case = case_in("in_progress")

    outputs = [
        get("requests.json").content,
        get("requests.xml").content,
        get(f"requests/{case.number}.json").content,
        get(f"request/{case.number}.xml").content,
    ]

    for content in outputs:
        text = content.decode()
        assert case.number in text
        assert "张三" not in text and "13812341234" not in text and "****" not in text


def test_it_leaves_whistle_blowing_reports_out(new_case: CaseMaker) -> None:
    secret = new_case(kind="report")

    assert numbers(get("requests.json")) == set()
    assert get(f"requests/{secret.number}.json").status_code == 404


def test_it_returns_one_request_as_xml_under_service_requests(new_case: CaseMaker) -> None:
    case = new_case()

    root = xml_of(get(f"request/{case.number}.xml"))

    assert root.tag == "service_requests"
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [case.number]
    assert root.findtext("request/zipcode") == ""


def test_it_writes_parseable_xml_whatever_the_stored_text(new_case: CaseMaker) -> None:
    new_case(description="第一行\x0b第二行 <b>&amp;</b>")

    root = xml_of(get("requests.xml"))

    assert root.findtext("request/description") == "第一行第二行 <b>&amp;</b>"


def test_it_answers_404_for_an_unknown_request_in_the_asked_format(db: None) -> None:
    response = get("requests/20260101-999999.xml")

    assert response.status_code == 404
    assert xml_of(response).findtext("error/code") == "404"


# Issuing keys ------------------------------------------------------------------------------------


def test_it_prints_a_working_key_as_the_last_line(town: Town) -> None:
    out = io.StringIO()

    call_command("apikey", "create", "区APP", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    response = post(report(raw, address_id="B-0001"))

    assert response.status_code == 200, response.content
    user = User.objects.get(username="open311-区app")
    assert Case.objects.get().created_by == user
    assert ApiKey.objects.get().digest != raw


@pytest.mark.parametrize("name", ["！！！", "x" * 101])
def test_it_refuses_a_key_name_it_cannot_turn_into_an_account(db: None, name: str) -> None:
    with pytest.raises(CommandError):
        call_command("apikey", "create", name, stdout=io.StringIO())

    assert not ApiKey.objects.exists()


def test_it_reuses_the_integrator_account_for_a_second_key(town: Town) -> None:
    first, _ = apikey_create(name="district-app")
    second, _ = apikey_create(name="district-app")

    assert first.user == second.user
    assert first.digest != second.digest


def test_it_lists_an_unclassified_case_from_another_channel(town: Town, integrator: User) -> None:
    services.case_create(
        actor=integrator,
        new=services.NewCase(kind="help", description="楼道灯不亮", place=town.grid, channel="web"),
    )

    (request,) = get("requests.json").json()

    assert (request["service_code"], request["address_id"], request["lat"]) == (None, None, None)
    assert request["service_notice"] is None
