"""Fixtures for the Graph client's unit tests: a scripted Graph and a fake clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from comms_portal.graph import GraphClient
from tests.graph.fakegraph import FakeClock, FakeGraph


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def graph(clock: FakeClock) -> FakeGraph:
    return FakeGraph(clock=clock)


@pytest.fixture
def client(graph: FakeGraph) -> Iterator[GraphClient]:
    graph_client = graph.client()
    yield graph_client
    graph_client.close()
