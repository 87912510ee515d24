"""Helpers shared by the browser tests: signing in, test photos, CSP watching, keyboard navigation."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.conftest import screenshot

PASSWORD = "pw-for-tests-1"
# Enough Tab presses to cross the longest form (the hotline entry) without looping for ever.
MOST_TABS = 40


def jpeg(folder: Path, name: str, colour: str = "orange") -> Path:
    """A small real JPEG on disk, for `set_input_files` (the server checks content, not names)."""
    target = folder / name
    Image.new("RGB", (64, 48), colour).save(target, format="JPEG")
    return target


def log_in(page: Page, base_url: str, username: str) -> None:
    """Sign in through the real login page and wait until it sends the person to their workspace."""
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def csp_violations(page: Page) -> list[str]:
    """A list that collects every Content-Security-Policy complaint Chromium logs on this page."""
    found: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            found.append(message.text)

    page.on("console", note)
    return found


def tab_to(page: Page, selector: str) -> None:
    """Press Tab (only Tab) until the element matching `selector` has the focus.

    The test proves the field can be reached from the keyboard, without pinning the exact number of
    stops in between (a search box the page's script adds is one more stop, and that is fine).
    """
    target = page.locator(selector)
    for _ in range(MOST_TABS):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    expect(target).to_be_focused()


def message(page: Page, text: str) -> None:
    """Wait for the flash message (Django's messages framework) that contains `text`."""
    expect(page.locator("ul.messages")).to_contain_text(text)


def whole_page_screenshot(page: Page, name: str) -> Path:
    """The whole page as a person sees it, saved under build/screenshots/.

    A full-page capture keeps the sticky header and the fixed tab bar where the current scroll put
    them, painted over the middle of the page; a viewport as tall as the page puts them at its top
    and bottom instead. The viewport is restored afterwards.
    """
    viewport = page.viewport_size
    assert viewport is not None
    height = int(page.evaluate("document.documentElement.scrollHeight"))
    page.set_viewport_size({"width": viewport["width"], "height": max(height, viewport["height"])})
    page.evaluate("window.scrollTo(0, 0)")
    try:
        return screenshot(page, name)
    finally:
        page.set_viewport_size(viewport)
