"""The events tests consent to the events permission as people of the shared sandbox; each
test leaves them as it found them, so that other tests see only their own consents."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.events.consents import forget_consents


@pytest.fixture(autouse=True)
def consents_withdrawn_afterwards() -> Iterator[None]:
    yield
    forget_consents()
