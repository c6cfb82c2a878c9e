"""The FastAPI application of the web tool: JSON API, offline front end, OpenAPI docs.

Build it with :func:`create_app`; ``ecg-digitize serve`` runs it under uvicorn.
"""
from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import math
import os
import secrets
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from fastapi import Depends, FastAPI, File, Form, Request, Security, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from .. import __version__
from ..errors import (CalibrationError, DigitizeError, DigitizeInternalError, EcgDigitizeError,
                      ImageReadError, LayoutError, NotAnEcgError, RecordFormatError)
from ..record import check_lead_names, wfdb_record_name
from ._boxes import digitize_with_boxes
from ._classify import DISCLAIMER, MODELS, classify_record
from ._pool import PoolBusy, PoolTimeout, WorkerPool
from ._serialize import preview_jpeg, record_payload
from ._store import ResultStore, export
from ._uploads import UploadError, decode, safe_name

log = logging.getLogger("ecg_digitize.web")

STATIC_DIR = Path(__file__).resolve().parent / "static"
TOKEN_ENV = "ECG_DIGITIZE_TOKEN"
DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_PIXELS = 50_000_000  # an A4 page at 600 dpi is 35 Mpx
FORM_OVERHEAD = 256 * 1024  # multipart headers and the small form fields
DEFAULT_MAX_STORE_BYTES = 256 * 2**20  # results kept, in bytes (about 0.7 MB a 12-lead page)
# A page's time limit: a 200 dpi page takes 1-5 s and a method="auto" page on CPU under a
# minute, so two minutes answers only for a page that would never finish.
DEFAULT_PAGE_TIMEOUT_S = 120.0
# What a real page can need, so that no request costs more than a page is worth:
MAX_BOX_SECONDS = 60.0  # a lead box holds at most this much signal (t0 + its width)
MAX_BOXES = 32  # a 3x4 page with three rhythm strips has 15
MAX_BOX_LEADS = 24  # distinct lead names in one request
MAX_VALUES = 2_000_000  # samples x leads of one result (16 MB as float64)
MAX_BOXES_CHARS = 64 * 1024  # the boxes field, before it is parsed
MAX_PAGE = 999  # PDF page or TIFF frame
BOX_MARGIN = 0.05  # a box may reach this fraction of the page beyond its edges (deskewing)
_ERROR_CODES = (  # most specific first
    (ImageReadError, "unreadable_file"), (NotAnEcgError, "not_an_ecg"),
    (LayoutError, "unsupported_layout"), (CalibrationError, "calibration_failed"),
    (DigitizeError, "digitize_failed"), (EcgDigitizeError, "digitize_failed"),
)
_CSP = ("default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'")
# /docs: Swagger UI's own files (served here) and its inline styles; never framed.
_DOCS_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
             "script-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
             "base-uri 'none'")
_DOCS_CDN_CSP = "frame-ancestors 'none'"  # FastAPI's default page fetches Swagger UI from a CDN
_GUARDED_PATHS = ("/api/", "/openapi.json")
_DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="/docs-assets/swagger-ui.css">
<link rel="icon" href="/docs-assets/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs-assets/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script></body></html>
"""


class ApiError(Exception):
    """An error answered as ``{"error": code, "message": ...}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


@dataclass
class Options:
    """Validated form fields of ``POST /api/digitize``."""

    fs: float
    layout: str
    paper_speed: float | None
    gain: float | None
    page: int
    method: str
    boxes: list[dict] | None
    classify: bool


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


# ---------------------------------------------------------------------------- body limit
class _BodyLimit:
    """ASGI middleware: refuse API request bodies over ``limit`` bytes with 413.

    A declared Content-Length is checked before anything is read; a body streamed
    without one is counted as it arrives and cut off at the limit, so an oversized
    upload never reaches the multipart parser's disk spool in full.
    """

    def __init__(self, app, limit: int):
        self.app, self.limit = app, int(limit)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            return await self.app(scope, receive, send)
        message = (f"The upload is larger than the {self.limit / 2**20:.0f} MB limit "
                   f"(request body over {self.limit:,} bytes).")
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await _error(413, "file_too_large", message)(scope, receive, send)
        state = {"seen": 0, "over": False, "sent": False}

        async def limited_receive():
            msg = await receive()
            if msg["type"] == "http.request":
                state["seen"] += len(msg.get("body", b""))
                if state["seen"] > self.limit:
                    state["over"] = True
                    return {"type": "http.disconnect"}
            return msg

        async def guarded_send(msg):
            if state["over"]:  # replace whatever the app answers to the cut-off body
                if not state["sent"]:
                    state["sent"] = True
                    await _error(413, "file_too_large", message)(scope, receive, send)
                return
            await send(msg)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not state["over"]:
                raise
            if not state["sent"]:
                state["sent"] = True
                await _error(413, "file_too_large", message)(scope, receive, send)


# ---------------------------------------------------------------------------- guard
class _Guard:
    """ASGI middleware, outermost: checks made before a byte of the body is read.

    - ``Host`` (when ``allowed_hosts`` is set) and, on the API, a cross-site ``Origin``;
    - the token on ``/api/`` and ``/openapi.json`` (headers only; a ``?token=`` is refused);
    - security headers on every answer, errors included;
    - any exception the app lets through becomes a JSON 500 without its text.
    """

    def __init__(self, app, token: str | None, allowed_hosts: list[str] | None, docs_csp: str):
        self.app, self.token = app, token
        self.allowed_hosts = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}
        self.docs_csp = docs_csp

    def _refusal(self, scope) -> JSONResponse | None:
        headers = {k.lower(): v for k, v in scope.get("headers") or []}
        host = headers.get(b"host", b"").decode("latin-1").strip().lower()
        if self.allowed_hosts is not None and _hostname(host) not in self.allowed_hosts:
            return _error(421, "bad_host", "This server does not answer to that host name.")
        path = scope["path"]
        if not path.startswith(_GUARDED_PATHS):
            return None
        origin = headers.get(b"origin")
        if origin is not None and origin.decode("latin-1").strip().lower() not in (
                f"http://{host}", f"https://{host}"):
            return _error(403, "forbidden_origin", "Requests from other web sites are refused.")
        if self.token is None:
            return None
        query = scope.get("query_string", b"").decode("latin-1")
        if any(part.split("=", 1)[0].lower() in ("token", "access_token") for part in query.split("&")):
            return _error(401, "unauthorized", "The token is accepted only in a header "
                          "(Authorization: Bearer <token> or X-Token), never in the URL.",
                          {"WWW-Authenticate": "Bearer"})
        auth = headers.get(b"authorization", b"").decode("latin-1")
        given = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        given = given or headers.get(b"x-token", b"").decode("latin-1").strip()
        if not secrets.compare_digest(given.encode("latin-1", "replace"), self.token.encode()):
            return _error(401, "unauthorized", "This server needs an access token: enter the "
                          "token you were given.", {"WWW-Authenticate": "Bearer"})
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                 (b"x-frame-options", b"DENY"),
                 (b"content-security-policy",
                  (self.docs_csp if path.startswith("/docs") else _CSP).encode())]
        if path.startswith(_GUARDED_PATHS):
            extra.append((b"cache-control", b"no-store"))
        started = False

        async def send_with_headers(msg):
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
                have = {k.lower() for k, _ in msg.get("headers") or []}
                msg = {**msg, "headers": list(msg.get("headers") or [])
                       + [(k, v) for k, v in extra if k not in have]}
            await send(msg)

        refusal = self._refusal(scope)
        if refusal is not None:
            return await refusal(scope, receive, send_with_headers)
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), path)
            if started:
                raise
            await _error(500, "internal_error", "Something went wrong on the server; the "
                         "error was logged. Try again, or with another file.")(
                scope, receive, send_with_headers)


def _hostname(host: str) -> str:
    """``host[:port]`` or ``[v6]:port`` without the port."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


# ---------------------------------------------------------------------------- the app
def create_app(token: str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES,
               max_pixels: int = DEFAULT_MAX_PIXELS, workers: int = 2, max_pending: int = 32,
               ttl_s: float = 3600.0, max_results: int = 200,
               max_store_bytes: int = DEFAULT_MAX_STORE_BYTES,
               allowed_hosts: list[str] | None = None,
               digitize_fn: Callable[..., Any] | None = None, warm: bool = True,
               page_timeout_s: float | None = DEFAULT_PAGE_TIMEOUT_S) -> FastAPI:
    """Build the web tool's FastAPI application.

    Parameters
    ----------
    token : str, optional
        When set, every ``/api/`` call must carry it in a header (``Authorization:
        Bearer <token>`` or ``X-Token``); a ``?token=`` query parameter is refused, so the
        token never ends up in a URL or an access log. Falls back to the
        ``ECG_DIGITIZE_TOKEN`` environment variable; pass ``""`` to disable explicitly.
    max_bytes : int
        Largest upload (default 25 MB); more is refused with 413.
    max_pixels : int
        Largest width x height of a page (default 50 Mpx), read from the file header
        before decoding; more is refused with 413.
    workers : int
        Pages digitized at the same time (threads).
    max_pending : int
        Pages accepted at once, running or waiting; beyond it the API answers 503.
    ttl_s : float
        Seconds a result stays downloadable (default one hour).
    max_results : int
        Results kept at most (oldest dropped first), bounding memory.
    max_store_bytes : int
        Bytes of results kept at most (signals and previews; oldest dropped first).
    allowed_hosts : list of str, optional
        Host names the server answers to (``Host`` header, port ignored); others get
        421. ``ecg-digitize serve`` on a loopback address allows only loopback names,
        so a web page cannot reach it through DNS rebinding. None: any.
    digitize_fn : callable, optional
        Replaces :func:`ecg_digitize.digitizer.digitize` (tests, other pipelines).
    warm : bool
        Import the digitizer in the background at start-up so the first upload is fast.
    page_timeout_s : float, optional
        Seconds a page may take, waiting in the queue included (default two minutes);
        past it the API answers 504 ``timeout``. The page's thread cannot be stopped: it
        runs on and counts among the pending pages until it ends (``overdue`` in
        ``/api/health``). ``None`` or ``0``: no limit.

    Returns
    -------
    fastapi.FastAPI

    Examples
    --------
    >>> from ecg_digitize.web import create_app
    >>> app = create_app(warm=False)
    >>> sorted(r.path for r in app.routes if r.path.startswith("/api/"))[:2]
    ['/api/digitize', '/api/download/{rid}.{fmt}']
    """
    if token is None:
        token = os.environ.get(TOKEN_ENV) or None
    token = token or None
    pool = WorkerPool(workers, max_pending)
    store = ResultStore(ttl_s=ttl_s, max_items=max_results, max_bytes=max_store_bytes)
    resolver = _DigitizerResolver(digitize_fn)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if warm:
            threading.Thread(target=resolver.get_quietly, daemon=True).start()
        yield
        pool.shutdown()

    app = FastAPI(
        title="ecg-digitize web tool",
        version=__version__,
        description=("Upload a picture of a paper ECG, get calibrated signals back. "
                     f"{DISCLAIMER} When the server runs with a token, send it in a header: "
                     "`Authorization: Bearer <token>` (or `X-Token: <token>`); it is never "
                     "accepted in the URL."),
        docs_url=None, redoc_url=None, lifespan=lifespan,
    )
    app.state.pool, app.state.store, app.state.token = pool, store, token
    swagger_dir = _swagger_ui_dir()
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    app.add_middleware(_BodyLimit, limit=max_bytes + FORM_OVERHEAD)
    # outermost: host, origin and token are checked before the body is read
    app.add_middleware(_Guard, token=token, allowed_hosts=allowed_hosts,
                       docs_csp=_DOCS_CSP if swagger_dir is not None else _DOCS_CDN_CSP)

    _add_error_handlers(app)
    guarded = _token_guard(token)
    _add_pages(app, swagger_dir)

    _add_health_route(app, guarded, pool, store, resolver, token, page_timeout_s)
    _add_digitize_route(app, guarded, pool, store, resolver, max_bytes=max_bytes,
                        max_pixels=max_pixels, ttl_s=ttl_s, page_timeout_s=page_timeout_s)
    _add_result_routes(app, guarded, pool, store)
    return app


def _add_health_route(app: FastAPI, guarded: list, pool: WorkerPool, store: ResultStore, resolver,
                      token: str | None, page_timeout_s: float | None) -> None:
    """``GET /api/health``."""
    @app.get("/api/health", dependencies=guarded, tags=["service"])
    async def health() -> dict[str, Any]:
        """Liveness and load: version, workers, jobs pending, results stored, models present."""
        return {"status": "ok", "version": __version__, "workers": pool.workers,
                "pending": pool.pending, "max_pending": pool.max_pending, "overdue": pool.overdue,
                "page_timeout_s": page_timeout_s or None,
                "results": len(store), "results_bytes": store.nbytes,
                "max_results_bytes": store.max_bytes, "digitizer": resolver.status(),
                "models": _models_present(), "token_required": token is not None}


def _add_error_handlers(app: FastAPI) -> None:
    """Every error answers in the documented JSON shape."""
    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        message = {404: "There is nothing at this address.",
                   405: "This address does not accept that method."}.get(
            exc.status_code, "The request could not be understood.")
        return _error(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        parts = []
        for err in exc.errors():
            where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path"))
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        message = "Bad request: " + "; ".join(parts)
        if any(e.get("loc", ())[-1:] == ("file",) for e in exc.errors()):
            message = "No file was uploaded: send the page image in the multipart field 'file'."
        return _error(422, "bad_request", message)


def _token_guard(token: str | None) -> list:
    """The dependencies that check the access token (none without a token)."""
    # Headers only: a token in the query string would land in access logs and histories.
    # Declared as security schemes so /docs offers an "Authorize" button.
    bearer = HTTPBearer(auto_error=False, description="the server's access token")
    x_token = APIKeyHeader(name="X-Token", auto_error=False, description="the same token")

    async def require_token(creds: HTTPAuthorizationCredentials | None = Security(bearer),
                            header: str | None = Security(x_token)) -> None:
        given = (creds.credentials if creds is not None else None) or header or ""
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise ApiError(401, "unauthorized", "This server needs an access token: enter the "
                           "token you were given.", {"WWW-Authenticate": "Bearer"})

    return [Depends(require_token)] if token is not None else []


def _add_pages(app: FastAPI, swagger_dir) -> None:
    """The page, its static files and the API docs."""
    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if swagger_dir is not None:
        app.mount("/docs-assets", StaticFiles(directory=swagger_dir), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        if swagger_dir is None:  # fall back to FastAPI's default (CDN) assets
            return get_swagger_ui_html(openapi_url=app.openapi_url, title=app.title)
        # Swagger UI started by a file of ours (no inline script under the CSP), which
        # sends the tab's token with every request, the spec's included.
        return HTMLResponse(_DOCS_HTML.replace("{title}", app.title + " - API"))


def _add_digitize_route(app: FastAPI, guarded: list, pool: WorkerPool, store: ResultStore, resolver,
                        *, max_bytes: int, max_pixels: int, ttl_s: float,
                        page_timeout_s: float | None = None) -> None:
    """``POST /api/digitize``: one page digitized in the worker pool, its result stored."""
    @app.post("/api/digitize", dependencies=guarded, tags=["digitize"])
    async def digitize_upload(
        file: UploadFile = File(..., description="PNG, JPEG, TIFF, BMP or PDF; type read from content"),
        layout: str = Form("auto", description="auto, 3x4, 3x4+II, 6x2, 12x1, strip, ..."),
        paper_speed: str = Form("auto", description="mm/s (25 or 50) or auto"),
        gain: str = Form("auto", description="mm/mV (5, 10, 20) or auto"),
        page: int = Form(0, description=f"PDF page or TIFF frame, from 0 (at most {MAX_PAGE})"),
        method: str = Form("auto", description="digitizer method"),
        fs: float = Form(500.0, description="output sampling rate (Hz), 50 to 5000"),
        boxes: str | None = Form(None, description="JSON list of at most 32 lead boxes to use "
                                 "instead of the detected ones: [{lead, bbox:[x0,y0,x1,y1], t0?}] "
                                 "inside the page, each holding at most 60 s (t0 + its width)"),
        classify: bool = Form(False, description="also run the 1D classifiers"),
    ) -> Response:
        """Digitize one page: the Record as JSON with lead boxes, and optional classification."""
        opts = _parse_options(layout, paper_speed, gain, page, method, fs, boxes, classify)
        data = await file.read(max_bytes + 1)
        await file.close()
        if len(data) > max_bytes:
            raise ApiError(413, "file_too_large",
                           f"The upload is larger than the {max_bytes / 2**20:.0f} MB limit.")
        name = safe_name(file.filename)
        try:
            body = await pool.run(job, data, opts, name, timeout=page_timeout_s)
        except PoolBusy as exc:
            raise ApiError(503, "busy", f"The server is busy ({exc}); try again in a minute.",
                           {"Retry-After": "30"}) from exc
        except PoolTimeout as exc:
            log.warning("page %s: no result after %g s; answered 504", name, page_timeout_s)
            raise ApiError(504, "timeout", f"Digitizing this page took longer than the server's "
                           f"{page_timeout_s:g} s limit; it was given up. Try a smaller or "
                           "cleaner picture, or method=classical.") from exc
        return Response(body, media_type="application/json")

    def job(data: bytes, opts: Options, name: str) -> bytes:
        # Storing and JSON-encoding (~0.5 MB for 12 leads) happen here, in the worker
        # thread, so the event loop only moves bytes and stays responsive.
        record, preview, seconds, classification = _digitize_job(resolver, data, opts, name,
                                                                 max_pixels)
        record.geometry.trace_mask = None  # a page-sized array nobody downloads
        rid = store.put(record, preview, name=name)
        payload = {"id": rid, "source": name, **record_payload(record),
                   "image": {"width": record.geometry.get("image_width"),
                             "height": record.geometry.get("image_height"),
                             "preview": f"/api/image/{rid}.jpg"},
                   "downloads": {f: f"/api/download/{rid}.{f}" for f in ("zip", "csv", "json")},
                   "expires_in_s": ttl_s, "seconds": round(seconds, 3),
                   "disclaimer": DISCLAIMER}
        if classification is not None:
            payload["classification"] = classification
        return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()


def _add_result_routes(app: FastAPI, guarded: list, pool: WorkerPool, store: ResultStore) -> None:
    """Downloads, previews and model cards of stored results."""
    @app.get("/api/download/{rid}.{fmt}", dependencies=guarded, tags=["digitize"])
    async def download(rid: str, fmt: str) -> Response:
        """A stored result as WFDB (``zip``: .hea + .dat + .json), ``csv`` or ``json``."""
        if fmt not in ("zip", "csv", "json"):
            raise ApiError(404, "unknown_format", f"Unknown format {fmt!r}: use zip, csv or json.")
        entry = _entry(store, rid)
        stem = "ecg_" + wfdb_record_name(Path(entry.extra["name"]).stem, default="page")[:40]
        try:  # in the bounded pool, like digitizing: an export is CPU work too
            data, media = await pool.run(export, entry.record, fmt, stem)
        except PoolBusy as exc:
            raise ApiError(503, "busy", f"The server is busy ({exc}); try again in a minute.",
                           {"Retry-After": "30"}) from exc
        except RecordFormatError as exc:
            raise ApiError(422, "export_failed", f"This result cannot be written as {fmt}: "
                           f"{exc.reason}.") from exc
        return Response(data, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})

    @app.get("/api/image/{rid}.jpg", dependencies=guarded, tags=["digitize"])
    async def image(rid: str) -> Response:
        """A downscaled JPEG of the uploaded page (boxes are given in full-size pixels)."""
        entry = _entry(store, rid)
        return Response(entry.preview or b"", media_type="image/jpeg")

    @app.get("/api/models/{name}.md", dependencies=guarded, tags=["classifiers"])
    async def model_card(name: str) -> Response:
        """The model card of a shipped classifier, as plain text (Markdown)."""
        if name not in MODELS.values():  # only known names: never a path from the client
            raise ApiError(404, "unknown_model", f"No model named {name!r}.")
        from pretrained import PRETRAINED_DIR

        path = Path(PRETRAINED_DIR) / f"{name}.md"
        if not path.is_file():
            raise ApiError(404, "model_not_available", f"The card of {name} is not installed.")
        return Response(path.read_text(encoding="utf-8"), media_type="text/plain; charset=utf-8")


# ---------------------------------------------------------------------------- helpers
def _entry(store: ResultStore, rid: str):
    entry = store.get(rid)
    if entry is None:
        raise ApiError(404, "not_found", "This result does not exist or has expired "
                       "(results are kept for a limited time): digitize the page again.")
    return entry


def _number(text: str, name: str, lo: float, hi: float) -> float | None:
    text = (text or "").strip().lower()
    if text in ("", "auto", "none", "null"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise ApiError(422, "bad_request", f"{name} must be a number or 'auto', not {text!r}.") from None
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ApiError(422, "bad_request", f"{name} must lie between {lo:g} and {hi:g}.")
    return value


def _parse_options(layout, paper_speed, gain, page, method, fs, boxes, classify) -> Options:
    layout = (layout or "auto").strip()
    if len(layout) > 40 or not all(c.isalnum() or c in "+x,-_ " for c in layout):
        raise ApiError(422, "bad_request", f"layout {layout[:40]!r} is not a layout name.")
    method = (method or "auto").strip()
    if len(method) > 32 or not all(c.isalnum() or c in "-_" for c in method):
        raise ApiError(422, "bad_request", "method must be a short name such as 'classical'.")
    if not 0 <= page <= MAX_PAGE:
        raise ApiError(422, "bad_request", f"page must be between 0 and {MAX_PAGE}.")
    if not (math.isfinite(fs) and 50 <= fs <= 5000):
        raise ApiError(422, "bad_request", "fs must lie between 50 and 5000 Hz.")
    return Options(fs=float(fs), layout=layout,
                   paper_speed=_number(paper_speed, "paper_speed", 5, 200),
                   gain=_number(gain, "gain", 1, 100), page=int(page), method=method,
                   boxes=_parse_boxes(boxes), classify=bool(classify))


def _parse_boxes(text: str | None) -> list[dict] | None:
    """The ``boxes`` field checked for what a page can hold (the page itself is checked later)."""
    if text is None or not text.strip() or text.strip() == "null":
        return None
    if len(text) > MAX_BOXES_CHARS:
        raise ApiError(422, "bad_boxes", f"boxes is too long ({len(text):,} characters; a page's "
                       f"boxes take a few thousand, the limit is {MAX_BOXES_CHARS:,}).")
    try:
        boxes = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(422, "bad_boxes", f"boxes is not valid JSON ({exc.msg}).") from None
    except RecursionError:  # nested thousands deep
        raise ApiError(422, "bad_boxes", "boxes is nested too deeply to be lead boxes.") from None
    if not isinstance(boxes, list) or not 1 <= len(boxes) <= MAX_BOXES:
        raise ApiError(422, "bad_boxes", f"boxes must be a JSON list of 1 to {MAX_BOXES} lead boxes.")
    clean = []
    for i, box in enumerate(boxes):
        bbox = box.get("bbox") if isinstance(box, dict) else None
        if (not isinstance(box.get("lead") if isinstance(box, dict) else None, str)
                or not isinstance(bbox, list) or len(bbox) != 4
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           and math.isfinite(v) for v in bbox)
                or not (bbox[0] < bbox[2] and bbox[1] < bbox[3])):
            raise ApiError(422, "bad_boxes", f"box {i} needs 'lead' (a name) and 'bbox' "
                           "[x0, y0, x1, y1] with x0 < x1 and y0 < y1 (image pixels).")
        try:
            check_lead_names([box["lead"]])
        except RecordFormatError as exc:
            raise ApiError(422, "bad_boxes", f"box {i}: {exc.reason}.") from None
        out = {"lead": box["lead"], "bbox": [float(v) for v in bbox]}
        for key in ("t0", "row", "col", "x0", "baseline_y"):
            value = box.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                out[key] = float(value) if key != "row" and key != "col" else int(value)
        if not 0 <= out.get("t0", 0.0) <= MAX_BOX_SECONDS:
            raise ApiError(422, "bad_boxes", f"box {i}: t0 must lie between 0 and "
                           f"{MAX_BOX_SECONDS:g} s (the time of the box's left edge on the page).")
        clean.append(out)
    if len({b["lead"] for b in clean}) > MAX_BOX_LEADS:
        raise ApiError(422, "bad_boxes", f"boxes name more than {MAX_BOX_LEADS} different leads.")
    return clean


def _check_boxes_on_page(boxes: list[dict], width: int, height: int,
                         margin: float = BOX_MARGIN) -> None:
    """Every box inside the ``width x height`` page, give or take ``margin`` of its size."""
    mx, my = margin * width, margin * height
    for i, box in enumerate(boxes):
        x0, y0, x1, y1 = box["bbox"]
        if x0 < -mx or y0 < -my or x1 > width + mx or y1 > height + my:
            raise ApiError(422, "bad_boxes", f"box {i} ({box['lead']}) reaches outside the "
                           f"{width} x {height} px page.")


def _check_boxes_against(base: Any, boxes: list[dict]) -> None:
    """Box places, times and sizes against the page as the run before the boxes measured it.

    Each box lies inside the measured page (``geometry.image_shape``, when known);
    its ``t0`` lies within the page's time span (its width in seconds, plus 1 s); each box
    holds at most :data:`MAX_BOX_SECONDS` of signal counted from 0 (``t0`` plus its width
    in seconds), and the result at most :data:`MAX_VALUES` samples x leads.
    """
    shape = base.geometry.image_shape
    if shape is not None and len(shape) >= 2:  # the frame boxes are measured in (perspective undone)
        _check_boxes_on_page(boxes, int(shape[1]), int(shape[0]))
    cal = getattr(base, "calibration", None)
    px_per_mm = getattr(cal, "px_per_mm", None)
    if not px_per_mm:
        return
    px_per_s = float(px_per_mm) * float(cal.mm_per_s)
    if shape is not None and len(shape) >= 2:
        page_s = int(shape[1]) / px_per_s
        for i, box in enumerate(boxes):
            if box.get("t0", 0.0) > page_s + 1.0:
                raise ApiError(422, "bad_boxes", f"box {i} ({box['lead']}): t0 = "
                               f"{box['t0']:g} s is beyond the page, which spans {page_s:.1f} s.")
    end = 0.0
    for i, box in enumerate(boxes):
        span = (box["bbox"][2] - box["bbox"][0]) / px_per_s
        if box.get("t0", 0.0) + span > MAX_BOX_SECONDS:
            raise ApiError(422, "bad_boxes", f"box {i} ({box['lead']}) would hold signal up to "
                           f"{box.get('t0', 0.0) + span:.0f} s; a box holds at most "
                           f"{MAX_BOX_SECONDS:g} s counted from the start of the page (t0 + width).")
        end = max(end, box.get("t0", 0.0) + span)
    leads = set(getattr(base, "leads", [])) | {b["lead"] for b in boxes}
    values = max(end * float(base.fs), float(getattr(base, "n_samples", 0))) * len(leads)
    if values > MAX_VALUES:
        raise ApiError(422, "bad_boxes", f"these boxes ask for {values:,.0f} samples in all "
                       f"(the limit is {MAX_VALUES:,}): fewer leads, shorter boxes or a lower fs.")


def _models_present() -> dict[str, bool]:
    try:
        from classifiers import model_path
    except Exception:
        return {m: False for m in MODELS.values()}
    return {m: model_path(m).exists() for m in MODELS.values()}


def _swagger_ui_dir() -> Path | None:
    """Swagger UI's assets from the ``swagger-ui-py`` package, so /docs works offline."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    static = Path(list(spec.submodule_search_locations)[0]) / "static"
    return static if (static / "swagger-ui-bundle.js").is_file() else None


class _DigitizerResolver:
    """Imports the digitizer once, on first use (keeps ``create_app`` fast and light)."""

    def __init__(self, fn: Callable[..., Any] | None):
        self._fn, self._lock, self._error = fn, threading.Lock(), None

    def get(self) -> Callable[..., Any]:
        with self._lock:
            if self._fn is None:
                from ..digitizer import digitize

                self._fn = digitize
            return self._fn

    def get_quietly(self) -> None:
        try:
            self.get()
        except Exception as exc:  # reported by /api/health and on upload
            self._error = exc

    def status(self) -> str:
        """``ready``, ``loading`` or ``unavailable: ...``; never imports (health must be instant)."""
        if self._fn is not None:
            return "ready"
        if self._error is not None:
            return f"unavailable: {self._error}"
        return "loading"

    def accepts(self, name: str) -> bool:
        try:
            params = inspect.signature(self.get()).parameters
        except (TypeError, ValueError):
            return True
        return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _digitize_job(resolver: _DigitizerResolver, data: bytes, opts: Options, name: str,
                  max_pixels: int):
    """Worker-thread body: decode, digitize, preview, classify. Returns what the route needs."""
    start = time.perf_counter()
    try:
        upload = decode(data, page=opts.page, max_pixels=max_pixels)
    except UploadError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc
    try:
        fn = resolver.get()
    except ImportError as exc:
        log.error("the digitizer cannot be imported: %s", exc)
        raise ApiError(503, "digitizer_unavailable",
                       "The digitizer cannot be loaded on this server (see its log).") from exc
    if opts.boxes is not None:  # at once, roughly: the frame boxes are measured in comes later
        _check_boxes_on_page(opts.boxes, upload.width, upload.height, margin=0.5)
    kwargs: dict[str, Any] = {"fs": opts.fs, "layout": opts.layout, "paper_speed": opts.paper_speed,
                              "gain": opts.gain, "method": opts.method}
    if opts.boxes is not None and resolver.accepts("boxes"):
        kwargs["boxes"] = opts.boxes
    try:
        if opts.boxes is not None and "boxes" not in kwargs:
            def checked(image, **options):  # the base run: calibration, then the boxes' limits
                base = fn(image, **options)
                _check_boxes_against(base, opts.boxes)
                return base

            record = digitize_with_boxes(upload.image, opts.boxes, digitize_fn=checked, **kwargs)
        else:
            record = fn(upload.image, **kwargs)
    except DigitizeInternalError as exc:  # a bug: logged here, no internal text in the answer
        log.error("page %s: %s", name, exc.reason)
        raise ApiError(500, "internal_error", "Something went wrong on the server; the error "
                       "was logged. Try again, or with another file.") from exc
    except EcgDigitizeError as exc:
        code = next(c for cls, c in _ERROR_CODES if isinstance(exc, cls))
        raise ApiError(422, code, _friendly(code, exc.reason)) from exc
    except ValueError as exc:  # an option the digitizer rejects (unknown layout or method)
        log.info("digitizer refused the options: %s", exc)
        raise ApiError(422, "bad_request", "The digitizer refused the options (layout, method, "
                       "paper speed, gain or boxes): check them and run again.") from exc
    record.source = name
    record.geometry.image_width = record.geometry.image_width or upload.width
    record.geometry.image_height = record.geometry.image_height or upload.height
    from ..digitizer import page_as_measured

    preview, _ = preview_jpeg(page_as_measured(upload.image, record))
    classification = classify_record(record) if opts.classify else None
    return record, preview, time.perf_counter() - start, classification


_PREFIX = {
    "unreadable_file": "The file could not be read as an image",
    "not_an_ecg": "This does not look like an ECG",
    "unsupported_layout": "The arrangement of the leads was not recognised",
    "calibration_failed": "The ECG grid or calibration could not be measured",
    "digitize_failed": "The page could not be digitized",
}


def _friendly(code: str, reason: str) -> str:
    hint = {"unsupported_layout": " Choose the layout by hand and run again.",
            "calibration_failed": " Set paper speed and gain by hand and run again."}.get(code, "")
    return f"{_PREFIX[code]}: {reason}.{hint}".replace("..", ".")
