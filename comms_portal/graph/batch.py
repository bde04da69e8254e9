"""JSON batching: any number of requests, sent 20 at a time, answered in input order."""

# https://learn.microsoft.com/graph/json-batching

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import orjson

from comms_portal.graph.errors import (
    GraphError,
    InvalidResponse,
    Unauthorized,
    error_from_response,
)
from comms_portal.graph.http import GraphClient, GraphResponse
from comms_portal.graph.models import ModelT, parse_model
from comms_portal.graph.retry import RetryBudget, is_safe_to_repeat, parse_retry_after

MAX_BATCH_SIZE = 20
_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})


@dataclass(frozen=True)
class BatchRequest:
    """One request to batch; ``url`` is relative to the version root, e.g. ``/me/presence``."""

    method: str
    url: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # Positions (in the same send_batch call) of earlier requests this one must follow.
    depends_on: tuple[int, ...] = ()
    # A POST that only reads (getPresencesByUserId) may be repeated safely.
    retry_safe: bool = False
    # Reads a successful answer's JSON body straight into a typed result (instead of dicts);
    # raising msgspec's errors makes that answer an InvalidResponse of its own.
    decode: Callable[[bytes], Any] | None = None


@dataclass(frozen=True)
class BatchResult:
    """The answer to one batched request: its status, headers, body, and mapped error.

    ``status`` is 0 when the item got no answer of its own because the whole $batch failed.
    """

    status: int
    headers: Mapping[str, str]
    body: Any
    error: GraphError | None

    @property
    def ok(self) -> bool:
        """Tell whether the request succeeded."""
        return self.error is None

    def model(self, model: type[ModelT]) -> ModelT:
        """Return the body as ``model``, raising the mapped error if the request failed."""
        if self.error is not None:
            raise self.error
        return parse_model(model, self.body, what="batched response body")


def _validate(requests: Sequence[BatchRequest]) -> None:
    for position, request in enumerate(requests):
        if request.method.upper() not in _METHODS:
            raise ValueError(f"Batch request {position}: unsupported method {request.method!r}.")
        if not request.url or request.url.startswith(("http://", "https://", "//")):
            raise ValueError(
                f"Batch request {position}: url must be relative to the version root, "
                f"such as '/me/presence'; got {request.url!r}."
            )
        for dependency in request.depends_on:
            if not 0 <= dependency < position:
                raise ValueError(
                    f"Batch request {position}: depends_on must name earlier requests "
                    f"(0..{position - 1}); got {dependency}."
                )
        if len(set(request.depends_on)) > 1:
            # Graph runs a batch fully in parallel, as one chain, or with every dependent
            # request waiting on the same one; a request waiting on two fits none of these.
            raise ValueError(
                f"Batch request {position}: Graph allows one dependency per request; got "
                f"{len(set(request.depends_on))}."
            )
    for members in _dependency_groups(requests):
        if _shape(requests, members) == "other":
            raise ValueError(
                f"Requests {members[0]}..{members[-1]} form neither one chain nor requests "
                "that all wait on the same one, the only dependencies Graph runs."
            )


def _dependency_groups(requests: Sequence[BatchRequest]) -> list[list[int]]:
    """Group requests linked by depends_on: each group must travel in one $batch."""
    parent = list(range(len(requests)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for position, request in enumerate(requests):
        for dependency in request.depends_on:
            parent[root(position)] = root(dependency)
    groups: dict[int, list[int]] = {}
    for position in range(len(requests)):
        groups.setdefault(root(position), []).append(position)
    ordered = sorted(groups.values(), key=lambda members: members[0])
    for members in ordered:
        if len(members) > MAX_BATCH_SIZE:
            raise ValueError(
                f"Requests {members[0]}..{members[-1]} depend on each other and number "
                f"{len(members)}; one $batch holds at most {MAX_BATCH_SIZE}."
            )
    return ordered


def _shape(requests: Sequence[BatchRequest], members: list[int]) -> str:
    """Name a dependency group's shape: 'single', 'star' (all wait on one), 'chain', 'other'."""
    if len(members) == 1:
        return "single"
    first = members[0]
    if all(requests[m].depends_on == (first,) for m in members[1:]):
        return "star"
    if all(requests[b].depends_on == (a,) for a, b in itertools.pairwise(members)):
        return "chain"
    return "other"


def _chunks(requests: Sequence[BatchRequest], groups: list[list[int]]) -> list[list[int]]:
    """Pack groups into batches of shapes Graph runs.

    Graph takes a batch that is fully parallel, one chain, or independent requests beside
    requests that all wait on the same one
    (https://learn.microsoft.com/graph/known-issues#request-dependencies-are-limited): so
    independent requests share a batch with at most one such star, and a chain travels alone.
    """
    chunks: list[list[int]] = []
    last_shape = ""  # what the open chunk holds: "" (independent requests), "star" or "chain"
    for members in groups:
        shape = _shape(requests, members)
        fits = (
            chunks
            and len(chunks[-1]) + len(members) <= MAX_BATCH_SIZE
            and last_shape != "chain"
            and shape != "chain"
            and not (shape == "star" and last_shape == "star")
        )
        if fits:
            chunks[-1].extend(members)
            last_shape = last_shape or ("star" if shape == "star" else "")
        else:
            chunks.append(list(members))
            last_shape = "" if shape == "single" else shape
    return [sorted(chunk) for chunk in chunks]


def _entry(position: int, request: BatchRequest, pending: set[int]) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": str(position), "method": request.method.upper()}
    entry["url"] = request.url
    headers = dict(request.headers)
    if request.body is not None:
        entry["body"] = request.body
        # Graph requires a Content-Type on every batched request that carries a body.
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    if headers:
        entry["headers"] = headers
    # Dependencies answered in an earlier round are already done.
    depends_on = [str(dependency) for dependency in request.depends_on if dependency in pending]
    if depends_on:
        entry["dependsOn"] = depends_on
    return entry


class _Answer(msgspec.Struct):
    """One item of a $batch answer, its body left as JSON text until its request says how."""

    id: Any = None
    status: Any = None
    headers: Any = None
    body: msgspec.Raw = msgspec.Raw()  # empty when the item has no body


class _Answers(msgspec.Struct):
    responses: list[_Answer]


_ANSWERS = msgspec.json.Decoder(_Answers)


def _answers(response: GraphResponse) -> list[dict[str, Any]] | list[_Answer]:
    """Split the $batch answer into its items, each body still JSON text when it can be."""
    try:
        return _ANSWERS.decode(response.content).responses
    except msgspec.MsgspecError:
        pass  # not of the documented shape: read it as before, to say what is wrong
    document = response.json_object()
    answers = document.get("responses")
    if not isinstance(answers, list):
        raise response.invalid("the $batch answer has no 'responses' list")
    for answer in answers:
        if not isinstance(answer, dict):
            raise response.invalid("a $batch response item is not an object")
    return answers


def _body(
    request: BatchRequest, status: int, raw: msgspec.Raw | None, response: GraphResponse
) -> tuple[Any, GraphError | None]:
    """Return an item's body, typed by its request's decoder when it succeeded and has one."""
    if raw is None:
        return None, None
    if request.decode is not None and 200 <= status < 300:
        try:
            return request.decode(raw), None
        except msgspec.MsgspecError as error:
            return None, response.invalid(f"a batched answer does not match its type: {error}")
    return msgspec.json.decode(raw), None


def _read_results(
    response: GraphResponse,
    pending: list[int],
    client: GraphClient,
    requests: Sequence[BatchRequest],
) -> dict[int, tuple[BatchResult, float | None]]:
    wanted = {str(position): position for position in pending}
    results: dict[int, tuple[BatchResult, float | None]] = {}
    for item in _answers(response):
        if isinstance(item, dict):
            answer_id, status, raw_headers = item.get("id"), item.get("status"), item.get("headers")
            raw_body = msgspec.Raw(orjson.dumps(item["body"])) if "body" in item else None
        else:
            answer_id, status, raw_headers = item.id, item.status, item.headers
            raw_body = item.body if len(item.body) else None
        position = wanted.get(str(answer_id))
        if position is None or not isinstance(status, int) or isinstance(status, bool):
            raise response.invalid("a $batch response item has an unknown id or no status")
        raw_headers = raw_headers or {}
        if not isinstance(raw_headers, dict):
            raise response.invalid("a $batch response item's headers are not an object")
        headers = {str(key): str(value) for key, value in raw_headers.items()}
        body, invalid = _body(requests[position], status, raw_body, response)
        retry_after = parse_retry_after(
            next((v for k, v in headers.items() if k.lower() == "retry-after"), None),
            now=client.now(),
        )
        error = invalid
        if status >= 400:
            error = error_from_response(
                status, headers, body if isinstance(body, dict) else None, retry_after=retry_after
            )
        results[position] = (BatchResult(status, headers, body, error), retry_after)
    missing = set(pending) - results.keys()
    if missing:
        raise response.invalid(f"the $batch answer lacks {len(missing)} of the requests sent")
    return results


def _to_resend(
    requests: Sequence[BatchRequest], results: dict[int, tuple[BatchResult, float | None]]
) -> list[int]:
    """Pick the throttled requests, and those that failed only because one was throttled."""
    resend = {position for position, (result, _) in results.items() if result.status == 429}
    changed = True
    while changed:
        changed = False
        for position, (result, _) in results.items():
            if position in resend or result.status != 424:
                continue
            if any(dependency in resend for dependency in requests[position].depends_on):
                resend.add(position)
                changed = True
    return sorted(resend)


def _run_chunk(
    client: GraphClient,
    requests: Sequence[BatchRequest],
    chunk: list[int],
    budget: RetryBudget,
    out: list[BatchResult | None],
) -> None:
    pending = list(chunk)
    round_number = 0
    while pending:
        round_number += 1
        pending_set = set(pending)
        payload = {"requests": [_entry(i, requests[i], pending_set) for i in pending]}
        safe = all(
            is_safe_to_repeat(requests[i].method, marked_safe=requests[i].retry_safe)
            for i in pending
        )
        try:
            response = client.send(
                "POST", "/$batch", json_body=payload, retry_safe=safe, budget=budget
            )
            results = _read_results(response, pending, client, requests)
        except Unauthorized:
            raise
        except GraphError as error:
            # Status 0: this item got no answer of its own (the whole $batch failed).
            status = 0 if isinstance(error, InvalidResponse) else error.status or 0
            for position in pending:
                out[position] = BatchResult(status, {}, None, error)
            return
        resend = _to_resend(requests, results)
        for position, (result, _) in results.items():
            out[position] = result
        if not resend:
            return
        waits = [results[i][1] for i in resend if results[i][1] is not None]
        delay = max(w for w in waits if w is not None) if waits else budget.backoff(round_number)
        if not (budget.allows_attempt(round_number + 1) and budget.fits(delay)):
            return
        client.wait(delay, budget)
        pending = resend


def send_batch(client: GraphClient, requests: Sequence[BatchRequest]) -> list[BatchResult]:
    """Send ``requests`` through /$batch in chunks of 20; return their results in input order."""
    _validate(requests)
    budget = client.new_budget()
    out: list[BatchResult | None] = [None] * len(requests)
    for chunk in _chunks(requests, _dependency_groups(requests)):
        _run_chunk(client, requests, chunk, budget, out)
    complete = [result for result in out if result is not None]
    # Every request gets a result or the call raises; a gap would be a bug here, not in Graph.
    assert len(complete) == len(requests)
    return complete
