"""``ecg-digitize serve``: run the web tool under uvicorn (registered by ``ecg_digitize.cli``)."""
from __future__ import annotations

import ipaddress
import os
import sys

from .app import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_MAX_STORE_BYTES, DEFAULT_PAGE_TIMEOUT_S, TOKEN_ENV

LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1"]
# Connections and requests at once; more get 503 from uvicorn. Idle connections cost
# little and are cut after the header deadline, so the limit is high enough that 900
# connections held open by one client do not lock everyone else out meanwhile.
MAX_CONNECTIONS = 1000
KEEP_ALIVE_S = 5  # an idle keep-alive connection is closed after this


def add_serve_subcommand(subparsers) -> None:
    """Add the ``serve`` parser to the ``ecg-digitize`` command."""
    p = subparsers.add_parser(
        "serve", help="run the web tool (upload a page, check and correct, download signals)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default: %(default)s, this computer only)")
    p.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    p.add_argument("--token", default=None,
                   help=f"access token required on every API call (default: ${TOKEN_ENV} if set)")
    p.add_argument("--workers", type=int, default=max(1, min(2, os.cpu_count() or 1)),
                   help="pages digitized at the same time (default: %(default)s)")
    p.add_argument("--max-pending", type=int, default=32,
                   help="pages accepted at once before answering 503 (default: %(default)s)")
    p.add_argument("--max-mb", type=float, default=DEFAULT_MAX_BYTES / 2**20,
                   help="largest upload in MB (default: %(default)g)")
    p.add_argument("--max-mpx", type=float, default=DEFAULT_MAX_PIXELS / 1e6,
                   help="largest page in megapixels (default: %(default)g)")
    p.add_argument("--ttl", type=float, default=3600.0,
                   help="seconds a result stays downloadable (default: %(default)g)")
    p.add_argument("--max-store-mb", type=float, default=DEFAULT_MAX_STORE_BYTES / 2**20,
                   help="memory for stored results in MB, oldest dropped first (default: %(default)g)")
    p.add_argument("--header-timeout", type=float, default=10.0,
                   help="seconds a client has to send a request's headers; slower connections "
                        "are closed (default: %(default)g)")
    p.add_argument("--page-timeout", type=float, default=DEFAULT_PAGE_TIMEOUT_S, metavar="SECONDS",
                   help="seconds a page may take, queueing included, before the API answers 504; "
                        "the page's thread runs on and holds its worker until it ends "
                        "(0: no limit; default: %(default)g)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func=run_serve)


def run_serve(args) -> int:
    """Start uvicorn with the app; returns the exit code."""
    import uvicorn

    from .app import create_app

    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV) or None
    if getattr(args, "page_timeout", 0) < 0:
        print("ecg-digitize serve: error: --page-timeout must be 0 (none) or a number of seconds",
              file=sys.stderr)
        return 2
    if not _is_loopback(args.host) and not token:
        print(f"ecg-digitize serve: warning: listening on {args.host} without a token; anyone "
              f"who can reach this port can use the tool (set --token or ${TOKEN_ENV}).",
              file=sys.stderr)
    app = create_app(token=token or "", max_bytes=int(args.max_mb * 2**20),
                     max_pixels=int(args.max_mpx * 1e6), workers=args.workers,
                     max_pending=args.max_pending, ttl_s=args.ttl,
                     max_store_bytes=int(args.max_store_mb * 2**20),
                     page_timeout_s=getattr(args, "page_timeout", DEFAULT_PAGE_TIMEOUT_S) or None,
                     # bound to loopback: answer loopback names only (no DNS rebinding)
                     allowed_hosts=LOOPBACK_NAMES if _is_loopback(args.host) else None)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"ecg-digitize web tool on http://{shown}:{args.port}/ (API docs at /docs)"
          + (" - token required" if token else ""), file=sys.stderr, flush=True)
    from ._protocol import HeaderTimeoutH11Protocol

    protocol = type("Protocol", (HeaderTimeoutH11Protocol,),
                    {"header_timeout_s": float(getattr(args, "header_timeout", 10.0))})
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                proxy_headers=False, server_header=False, http=protocol,
                timeout_keep_alive=KEEP_ALIVE_S, limit_concurrency=MAX_CONNECTIONS)
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
