"""A person signs in through the real login page in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from civicgrid.accounts.models import User
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_signs_a_dispatcher_in_and_shows_no_csp_violation(
    live_server: object, page: Page, centre: User
) -> None:
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    page.goto(f"{live_server.url}/login/")  # type: ignore[attr-defined]
    page.fill("#id_username", "zhou")
    page.fill("#id_password", "pw-for-tests-1")
    screenshot(page, "login")
    page.click("button[type=submit]")

    page.wait_for_load_state("networkidle")
    assert "/login/" not in page.url
    assert violations == []
