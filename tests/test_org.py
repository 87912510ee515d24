"""The unit tree: subtree queries by path, moves that carry the subtree, phones kept maskable."""

from __future__ import annotations

from civicgrid.org.models import Building, Household, Unit
from civicgrid.org.phones import mask_phone, normalise_phone
from civicgrid.org.selectors import area_parent, district_of, unit_subtree
from tests.conftest import Town


def test_it_finds_a_subtree_by_its_path(town: Town) -> None:
    codes = set(unit_subtree(unit=town.community).values_list("code", flat=True))

    assert codes == {"XC-S1-C1", "XC-S1-C1-G1", "XC-S1-C1-G2"}


def test_it_moves_a_whole_subtree_when_a_unit_changes_parent(town: Town) -> None:
    new_street = Unit.objects.create(
        code="XC-S2", name="德胜街道", kind=Unit.Kind.STREET, parent=town.district
    )

    town.community.parent = new_street
    town.community.save()

    grid = Unit.objects.get(pk=town.grid.pk)
    assert grid.path == "/XC/XC-S2/XC-S1-C1/XC-S1-C1-G1/"
    assert grid.depth == 3
    assert set(unit_subtree(unit=new_street).values_list("code", flat=True)) >= {"XC-S1-C1-G1", "XC-S1-C1-G2"}


def test_it_knows_the_area_above_a_department_and_a_grid(town: Town) -> None:
    assert area_parent(unit=town.urban) == town.district
    assert area_parent(unit=town.grid) == town.community
    assert area_parent(unit=town.district) is None
    assert district_of(unit=town.grid) == town.district


def test_it_masks_and_normalises_phones() -> None:
    assert normalise_phone("+86 138-1234-1234") == "13812341234"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("01088886666") == "010****6666"
    assert mask_phone("12345") == "***45"
    assert mask_phone("") == ""


def test_it_stores_household_phones_as_digits(town: Town) -> None:
    household = Household.objects.create(
        building=Building.objects.get(code="B-0001"), room="101", head_name="张大爷", phone="138 1234 1234"
    )

    assert household.phone == "13812341234"
