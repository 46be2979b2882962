"""A phone's browser for the app's tests: Debian's Chromium, headless, driven by Playwright,
at a phone's size; an accessibility check with axe-core; pictures for docs/screenshots."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("MEDSVC_TEST_CHROMIUM", "/usr/bin/chromium")
# The machine has no network beyond loopback: Chromium's own background connections are
# turned off, as is everything a test does not need.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}  # a common phone's CSS pixels
# Where `make screenshots` asks the browser tests to keep their pictures.
PICTURES = os.environ.get("MEDSVC_SCREENSHOTS")
SERIOUS = ("serious", "critical")


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def serious_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A and AA rules on the page as shown: the serious and critical
    violations, each with the elements it found."""
    results = Axe().run(
        page,
        options={
            "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}
        },
    )
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


def picture(page: Page, name: str) -> None:
    """A full-page PNG of what the phone shows, when pictures are asked for."""
    if PICTURES:
        Path(PICTURES).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(PICTURES) / f"{name}.png"), full_page=True)
