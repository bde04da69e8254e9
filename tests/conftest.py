"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.support.browser import launched_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Debian Chromium per test module.

    While Playwright's sync API runs, the thread counts as running an event loop: a second
    instance, ``asyncio.run`` or an async test would fail. So browser tests share this one
    (each opening its own context), and it closes when their module ends.
    """
    with launched_chromium() as chromium:
        yield chromium
