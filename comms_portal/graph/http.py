"""The one HTTP path to Graph: pooled connections, tokens, retries, error mapping, logging."""

from __future__ import annotations

import json
import logging
import os
import random as random_module
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, urlencode

import httpx
import orjson

from comms_portal.graph.config import GraphSettings
from comms_portal.graph.errors import (
    GraphError,
    GraphTimeout,
    GraphTransportError,
    InvalidResponse,
    Unauthorized,
    error_from_response,
)
from comms_portal.graph.retry import (
    RETRY_STATUSES,
    RetryBudget,
    is_safe_to_repeat,
    parse_retry_after,
    status_allows_retry,
)

logger = logging.getLogger("comms_portal.graph")

TokenProvider = Callable[[], str]


@runtime_checkable
class RefreshableTokenProvider(Protocol):
    """A token provider that can fetch a new token when Graph refuses the current one."""

    def __call__(self) -> str: ...

    def refresh(self) -> str: ...


Sleeper = Callable[[float], None]
# Told of each error ``send`` is about to raise: (error, method, path below the host).
ErrorHook = Callable[[GraphError, str, str], None]
# Told of each HTTP exchange, retries included: (method, status, or None when no answer came).
ExchangeHook = Callable[[str, int | None], None]

QueryParams = Mapping[str, str | int | bool]

# Characters OData query options use that stay readable in the query string.
_QUERY_SAFE = "$,'()/:@"

_shared_clients: dict[tuple[str, str | bool], httpx.Client] = {}
_shared_lock = threading.Lock()


def _ssl_verify(verify: str | bool) -> ssl.SSLContext | bool:
    if isinstance(verify, str):
        if os.path.isdir(verify):
            return ssl.create_default_context(capath=verify)
        return ssl.create_default_context(cafile=verify)
    return verify


def build_http_client(
    settings: GraphSettings, *, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """Create an httpx client configured from ``settings`` (pooled, HTTP/2 when offered)."""
    return httpx.Client(
        base_url=settings.version_root + "/",
        verify=_ssl_verify(settings.verify),
        http2=settings.http2,
        timeout=httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.write_timeout,
            pool=settings.pool_timeout,
        ),
        limits=httpx.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_keepalive_connections,
        ),
        transport=transport,
        # Graph answers; it never redirects API calls. A redirect would carry the token away.
        follow_redirects=False,
        # Proxy and CA settings come from GraphSettings only, never from the environment.
        trust_env=False,
    )


def shared_http_client(settings: GraphSettings) -> httpx.Client:
    """Return this process's pooled client for ``settings``' base URL and CA bundle."""
    key = (settings.version_root, settings.verify)
    with _shared_lock:
        client = _shared_clients.get(key)
        if client is None or client.is_closed:
            client = build_http_client(settings)
            _shared_clients[key] = client
        return client


def close_shared_http_clients() -> None:
    """Close every pooled client (at process shutdown, or after a fork)."""
    with _shared_lock:
        for client in _shared_clients.values():
            client.close()
        _shared_clients.clear()


def quote_segment(value: str) -> str:
    """Escape one URL path segment (a user id, a UPN, a subscription id)."""
    if not value or not value.strip():
        raise ValueError("An id in a Graph URL must not be empty.")
    return quote(value, safe="@")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class GraphResponse:
    """A successful answer from Graph, with the ids needed to trace it."""

    status: int
    headers: httpx.Headers
    content: bytes
    request_id: str | None
    client_request_id: str

    def json_object(self) -> dict[str, Any]:
        """Return the body as a JSON object, or raise InvalidResponse."""
        try:
            document = orjson.loads(self.content)
        except ValueError:
            raise self.invalid("the body is not JSON") from None
        if not isinstance(document, dict):
            raise self.invalid("the body is not a JSON object")
        return document

    def invalid(self, reason: str) -> InvalidResponse:
        """Build an InvalidResponse naming this answer's request ids."""
        return InvalidResponse(
            f"Graph's answer does not match its documentation: {reason}.",
            code="invalidResponse",
            status=self.status,
            request_id=self.request_id,
            client_request_id=self.client_request_id,
        )


class GraphClient:
    """Send requests to Graph with one person's (or the app's) access token."""

    def __init__(
        self,
        settings: GraphSettings,
        token_provider: TokenProvider,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleeper = time.sleep,
        now: Callable[[], datetime] = _utc_now,
        random: Callable[[], float] = random_module.random,
        on_error: ErrorHook | None = None,
        on_exchange: ExchangeHook | None = None,
    ) -> None:
        self.settings = settings
        self._on_error = on_error
        self._on_exchange = on_exchange
        self._token_provider = token_provider
        self._sleep = sleep
        self._now = now
        self._random = random
        # A transport seam gives a private client; otherwise the process-wide pool is shared.
        self._owns_http = transport is not None
        self._http = (
            build_http_client(settings, transport=transport)
            if transport is not None
            else shared_http_client(settings)
        )
        self._origin = self._http.base_url.copy_with(raw_path=b"/")

    def close(self) -> None:
        """Close the private client made for a test transport; the shared pool stays open."""
        if self._owns_http:
            self._http.close()

    def now(self) -> datetime:
        """Return the current UTC time from the injected clock."""
        return self._now()

    def new_budget(self) -> RetryBudget:
        """Start a retry budget for one logical call."""
        return RetryBudget(self.settings.retry, random=self._random)

    def is_own_origin(self, url: str) -> bool:
        """Tell whether an absolute URL points at the configured Graph host."""
        candidate = httpx.URL(url)
        return (candidate.scheme, candidate.host, candidate.port) == (
            self._origin.scheme,
            self._origin.host,
            self._origin.port,
        )

    def _target(self, url: str, params: QueryParams | None) -> str:
        if url.startswith(("http://", "https://")):
            if not self.is_own_origin(url):
                raise ValueError(f"Refusing to send a Graph token to another host: {url}")
        elif url.startswith("//"):
            raise ValueError(f"Graph paths must be relative to the version root: {url}")
        if not params:
            return url
        text = {
            key: str(value).lower() if isinstance(value, bool) else str(value)
            for key, value in params.items()
        }
        separator = "&" if "?" in url else "?"
        return url + separator + urlencode(text, safe=_QUERY_SAFE, quote_via=quote)

    def _token(self) -> str:
        token = self._token_provider()
        if not token:
            raise Unauthorized("No access token is available for this call.", code="noToken")
        return token

    def _request_path(self, target: str) -> str:
        url = httpx.URL(target)
        if url.is_absolute_url:
            return url.path
        return self._http.base_url.path.rstrip("/") + "/" + url.path.lstrip("/")

    def _report(self, error: GraphError, method: str, target: str) -> None:
        if self._on_error is None:
            return
        try:
            self._on_error(error, method, self._request_path(target))
        except Exception:
            # A failing observer must not hide the error the caller is about to get.
            logger.exception("the Graph error hook failed")

    def _observe(self, method: str, status: int | None) -> None:
        if self._on_exchange is None:
            return
        try:
            self._on_exchange(method, status)
        except Exception:
            # Counting is a side show: the call goes on whatever the observer does.
            logger.exception("the Graph exchange hook failed")

    def send(
        self,
        method: str,
        url: str,
        *,
        params: QueryParams | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        retry_safe: bool = False,
        budget: RetryBudget | None = None,
        expected_statuses: frozenset[int] = frozenset(),
    ) -> GraphResponse:
        """Send one request, retrying per the rule in ``retry``; raise a GraphError on failure.

        Errors with a status in ``expected_statuses`` (a 404 meaning "no photo", say) are
        raised as usual but not reported to the error hook: they are answers, not faults.
        """
        method = method.upper()
        target = self._target(url, params)
        try:
            return self._send(
                method,
                target,
                json_body=json_body,
                headers=headers,
                safe=is_safe_to_repeat(method, marked_safe=retry_safe),
                budget=budget or self.new_budget(),
            )
        except GraphError as error:
            if error.status not in expected_statuses:
                self._report(error, method, target)
            raise

    def _send(
        self,
        method: str,
        target: str,
        *,
        json_body: Any,
        headers: Mapping[str, str] | None,
        safe: bool,
        budget: RetryBudget,
    ) -> GraphResponse:
        content = None if json_body is None else json.dumps(json_body).encode()
        attempt = 0
        refreshed_token = False
        while True:
            attempt += 1
            client_request_id = str(uuid.uuid4())
            request_headers = {
                "Accept": "application/json",
                "client-request-id": client_request_id,
                **(headers or {}),
                "Authorization": f"Bearer {self._token()}",
            }
            if content is not None:
                request_headers.setdefault("Content-Type", "application/json")
            started = time.monotonic()
            try:
                response = self._http.request(
                    method, target, content=content, headers=request_headers
                )
            except httpx.TransportError as exc:
                self._observe(method, None)
                delay = self._transport_retry_delay(exc, safe=safe, attempt=attempt, budget=budget)
                if delay is None:
                    raise self._transport_error(exc, client_request_id) from exc
                logger.warning(
                    "Graph %s %s failed (%s); retrying in %.2f s (client-request-id %s)",
                    method,
                    httpx.URL(target).path,
                    type(exc).__name__,
                    delay,
                    client_request_id,
                )
                self.wait(delay, budget)
                continue

            elapsed_ms = (time.monotonic() - started) * 1000
            self._observe(method, response.status_code)
            request_id = response.headers.get("request-id")
            log_level = logging.DEBUG if response.status_code < 400 else logging.INFO
            logger.log(
                log_level,
                "Graph %s %s -> %s in %.0f ms (client-request-id %s, request-id %s)",
                method,
                response.request.url.path,
                response.status_code,
                elapsed_ms,
                client_request_id,
                request_id,
            )
            if response.status_code < 400:
                return GraphResponse(
                    status=response.status_code,
                    headers=response.headers,
                    content=response.content,
                    request_id=request_id,
                    client_request_id=client_request_id,
                )

            retry_after = parse_retry_after(response.headers.get("Retry-After"), now=self._now())
            status = response.status_code
            if status in RETRY_STATUSES and status_allows_retry(
                status, safe_to_repeat=safe, has_retry_after=retry_after is not None
            ):
                delay = retry_after if retry_after is not None else budget.backoff(attempt)
                if budget.allows_attempt(attempt + 1) and budget.fits(delay):
                    logger.warning(
                        "Graph %s %s -> %s; retrying in %.2f s (client-request-id %s, "
                        "request-id %s)",
                        method,
                        response.request.url.path,
                        status,
                        delay,
                        client_request_id,
                        request_id,
                    )
                    self.wait(delay, budget)
                    continue
            if (
                status == 401
                and not refreshed_token
                and isinstance(self._token_provider, RefreshableTokenProvider)
            ):
                # The token looked valid to us but not to Graph (expired early, revoked):
                # one fresh token, one more try. A second 401 is final.
                refreshed_token = True
                self._token_provider.refresh()
                continue
            headers_seen = dict(response.headers)
            headers_seen.setdefault("client-request-id", client_request_id)
            raise error_from_response(
                status, headers_seen, response.content, retry_after=retry_after
            )

    def wait(self, delay: float, budget: RetryBudget) -> None:
        """Sleep ``delay`` seconds through the injected sleeper, charging ``budget``."""
        budget.spend(delay)
        self._sleep(delay)

    def _transport_retry_delay(
        self, exc: httpx.TransportError, *, safe: bool, attempt: int, budget: RetryBudget
    ) -> float | None:
        # A connection never opened means Graph saw nothing; anything else may have reached it.
        never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        if not (never_sent or safe):
            return None
        if not budget.allows_attempt(attempt + 1):
            return None
        delay = budget.backoff(attempt)
        return delay if budget.fits(delay) else None

    @staticmethod
    def _transport_error(exc: httpx.TransportError, client_request_id: str) -> GraphError:
        if isinstance(exc, httpx.TimeoutException):
            return GraphTimeout(
                f"Graph did not answer in time ({type(exc).__name__}).",
                code="timeout",
                client_request_id=client_request_id,
            )
        return GraphTransportError(
            f"Could not exchange a request with Graph: {type(exc).__name__}: {exc}",
            code="transportError",
            client_request_id=client_request_id,
        )

    def get_object(self, url: str, *, params: QueryParams | None = None) -> dict[str, Any]:
        """GET a URL and return its JSON object body (for the area modules)."""
        return self.send("GET", url, params=params).json_object()

    def post(self, url: str, body: Any = None, *, retry_safe: bool = False) -> GraphResponse:
        """POST a JSON body (or none) and return the answer."""
        return self.send("POST", url, json_body=body, retry_safe=retry_safe)
