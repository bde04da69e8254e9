"""Run the sandbox: ``python -m sandbox [--port 8400] [--seed 1] [--users 60] ...``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from sandbox.app import create_app
from sandbox.calls.area import CALLING_WEBHOOK
from sandbox.certs import ensure_tls_certificate, load_signing_key
from sandbox.clock import SandboxClock
from sandbox.info import build_info, write_info_file
from sandbox.presence.service import add_presence_arguments, configure_presence, presence_options
from sandbox.state import Endpoints, SandboxState
from sandbox.tenant import build_tenant
from sandbox.virtual_events.service import EMPTY_KEY as EVENTS_EMPTY

logger = logging.getLogger("sandbox")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="A local stand-in for Microsoft Entra ID and Microsoft Graph.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8400, help="plain http port (0 = any free)")
    parser.add_argument("--tls-port", type=int, default=None, help="https port (default port+1)")
    parser.add_argument("--seed", type=int, default=1, help="tenant seed (same seed, same tenant)")
    parser.add_argument("--users", type=int, default=60, help="number of people in the tenant")
    parser.add_argument("--info-file", type=Path, default=None, help="write the info JSON here")
    parser.add_argument(
        "--state-dir", type=Path, default=Path("var/sandbox"), help="where keys and certs are kept"
    )
    parser.add_argument(
        "--redirect-uri", action="append", default=[], help="extra redirect URI for the apps"
    )
    parser.add_argument(
        "--token-lifetime", type=int, default=3599, help="access token lifetime in seconds"
    )
    parser.add_argument("--quiet", action="store_true", help="log warnings only")
    parser.add_argument(
        "--calling-webhook",
        default=None,
        help="where the calling bot's incoming-call notifications go (its calling webhook)",
    )
    parser.add_argument(
        "--no-seed-events",
        action="store_true",
        help="start with no webinars or town halls (the tenant holds a few by default)",
    )
    add_presence_arguments(parser)
    args = parser.parse_args(argv)
    args.presence = presence_options(args, parser)
    if args.users < 9:
        parser.error("--users must be at least 9 (the named cast)")
    if not 60 <= args.token_lifetime <= 86_400:
        parser.error("--token-lifetime must be between 60 and 86400")
    return args


def bind(host: str, port: int) -> socket.socket:
    """Bind a listening TCP socket ourselves, so port 0 gives a known free port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it each small response waits ~40 ms for a
    # delayed acknowledgement (Nagle), which slows every Graph call against the sandbox.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to us (two servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(args: argparse.Namespace) -> int:
    """Build the state, start both listeners, write the info file, run until told to stop."""
    state_dir: Path = args.state_dir.resolve()
    cert_path, key_path = ensure_tls_certificate(state_dir)
    http_sock = bind(args.host, args.port)
    tls_port = args.tls_port if args.tls_port is not None else (args.port + 1 if args.port else 0)
    tls_sock = bind(args.host, tls_port)
    display_host = "127.0.0.1" if args.host in ("0.0.0.0", "127.0.0.1") else args.host  # noqa: S104
    state = SandboxState(
        clock=SandboxClock(),
        tenant=build_tenant(
            seed=args.seed, users=args.users, extra_redirect_uris=tuple(args.redirect_uri)
        ),
        signing_key=load_signing_key(state_dir),
        state_dir=state_dir,
        ca_bundle=cert_path,
        endpoints=Endpoints(
            http_base=f"http://{display_host}:{http_sock.getsockname()[1]}",
            https_base=f"https://{display_host}:{tls_sock.getsockname()[1]}",
        ),
        access_token_lifetime=args.token_lifetime,
    )
    configure_presence(state, args.presence)
    state.extensions[CALLING_WEBHOOK] = args.calling_webhook
    state.extensions[EVENTS_EMPTY] = args.no_seed_events
    app = create_app(state)
    common = {
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": 3,
        "server_header": False,
        "date_header": False,
    }
    plain = _Server(uvicorn.Config(app, lifespan="on", **common))  # type: ignore[arg-type]
    secure = _Server(
        uvicorn.Config(
            app,
            lifespan="off",  # the plain listener runs the startup hooks once
            ssl_certfile=str(cert_path),
            ssl_keyfile=str(key_path),
            **common,  # type: ignore[arg-type]
        )
    )
    servers = (plain, secure)
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop)
    tasks = [
        asyncio.create_task(plain.serve(sockets=[http_sock])),
        asyncio.create_task(secure.serve(sockets=[tls_sock])),
    ]
    while not all(server.started for server in servers):
        if any(task.done() for task in tasks):
            for server in servers:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            logger.error("the sandbox could not start")
            return 1
        await asyncio.sleep(0.02)
    if args.info_file is not None:
        write_info_file(args.info_file, build_info(state))
    logger.warning(
        "sandbox ready: %s (http) %s (https), tenant %s, %d users",
        state.endpoints.http_base,
        state.endpoints.https_base,
        state.tenant.tenant_id,
        len(state.tenant.users),
    )
    await asyncio.gather(*tasks, return_exceptions=True)
    if args.info_file is not None:
        args.info_file.unlink(missing_ok=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox until SIGINT or SIGTERM."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
