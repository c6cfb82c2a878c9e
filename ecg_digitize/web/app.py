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
from starlette.concurrency import run_in_threadpool
from starlette.middleware.gzip import GZipMiddleware

from .. import __version__
from ..errors import (CalibrationError, DigitizeError, EcgDigitizeError, ImageReadError,
                      LayoutError, NotAnEcgError)
from ._boxes import digitize_with_boxes
from ._classify import DISCLAIMER, MODELS, classify_record
from ._pool import PoolBusy, WorkerPool
from ._serialize import preview_jpeg, record_payload
from ._store import ResultStore, export
from ._uploads import UploadError, decode, safe_name

log = logging.getLogger("ecg_digitize.web")

STATIC_DIR = Path(__file__).resolve().parent / "static"
TOKEN_ENV = "ECG_DIGITIZE_TOKEN"
DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_PIXELS = 50_000_000  # an A4 page at 600 dpi is 35 Mpx
FORM_OVERHEAD = 256 * 1024  # multipart headers and the small form fields
_ERROR_CODES = (  # most specific first
    (ImageReadError, "unreadable_file"), (NotAnEcgError, "not_an_ecg"),
    (LayoutError, "unsupported_layout"), (CalibrationError, "calibration_failed"),
    (DigitizeError, "digitize_failed"), (EcgDigitizeError, "digitize_failed"),
)
_CSP = ("default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'")


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


# ---------------------------------------------------------------------------- the app
def create_app(token: str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES,
               max_pixels: int = DEFAULT_MAX_PIXELS, workers: int = 2, max_pending: int = 32,
               ttl_s: float = 3600.0, max_results: int = 200,
               digitize_fn: Callable[..., Any] | None = None, warm: bool = True) -> FastAPI:
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
    digitize_fn : callable, optional
        Replaces :func:`ecg_digitize.digitizer.digitize` (tests, other pipelines).
    warm : bool
        Import the digitizer in the background at start-up so the first upload is fast.

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
    store = ResultStore(ttl_s=ttl_s, max_items=max_results)
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
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    app.add_middleware(_BodyLimit, limit=max_bytes + FORM_OVERHEAD)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if not request.url.path.startswith("/docs"):  # Swagger UI needs an inline script
            response.headers.setdefault("Content-Security-Policy", _CSP)
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

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

    guarded = [Depends(require_token)] if token is not None else []

    # ------------------------------------------------------------------ pages and docs
    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    swagger_dir = _swagger_ui_dir()
    if swagger_dir is not None:
        app.mount("/docs-assets", StaticFiles(directory=swagger_dir), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        if swagger_dir is None:  # fall back to FastAPI's default (CDN) assets
            return get_swagger_ui_html(openapi_url=app.openapi_url, title=app.title)
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title=app.title + " - API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png")

    # ------------------------------------------------------------------ API
    @app.get("/api/health", dependencies=guarded, tags=["service"])
    async def health() -> dict[str, Any]:
        """Liveness and load: version, workers, jobs pending, results stored, models present."""
        return {"status": "ok", "version": __version__, "workers": pool.workers,
                "pending": pool.pending, "max_pending": pool.max_pending,
                "results": len(store), "digitizer": resolver.status(),
                "models": _models_present(), "token_required": token is not None}

    @app.post("/api/digitize", dependencies=guarded, tags=["digitize"])
    async def digitize_upload(
        file: UploadFile = File(..., description="PNG, JPEG, TIFF, BMP or PDF; type read from content"),
        layout: str = Form("auto", description="auto, 3x4, 3x4+II, 6x2, 12x1, strip, ..."),
        paper_speed: str = Form("auto", description="mm/s (25 or 50) or auto"),
        gain: str = Form("auto", description="mm/mV (5, 10, 20) or auto"),
        page: int = Form(0, description="PDF page or TIFF frame, from 0"),
        method: str = Form("classical", description="digitizer method"),
        fs: float = Form(500.0, description="output sampling rate (Hz)"),
        boxes: str | None = Form(None, description="JSON list of lead boxes to use instead of "
                                 "the detected ones: [{lead, bbox:[x0,y0,x1,y1], t0?, t1?}]"),
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
            body = await pool.run(job, data, opts, name)
        except PoolBusy as exc:
            raise ApiError(503, "busy", f"The server is busy ({exc}); try again in a minute.",
                           {"Retry-After": "30"}) from exc
        return Response(body, media_type="application/json")

    def job(data: bytes, opts: Options, name: str) -> bytes:
        # Storing and JSON-encoding (~0.5 MB for 12 leads) happen here, in the worker
        # thread, so the event loop only moves bytes and stays responsive.
        record, preview, seconds, classification = _digitize_job(resolver, data, opts, name,
                                                                 max_pixels)
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

    @app.get("/api/download/{rid}.{fmt}", dependencies=guarded, tags=["digitize"])
    async def download(rid: str, fmt: str) -> Response:
        """A stored result as WFDB (``zip``: .hea + .dat + .json), ``csv`` or ``json``."""
        if fmt not in ("zip", "csv", "json"):
            raise ApiError(404, "unknown_format", f"Unknown format {fmt!r}: use zip, csv or json.")
        entry = _entry(store, rid)
        stem = "ecg_" + "".join(c if c.isalnum() else "_" for c in Path(entry.extra["name"]).stem)[:40]
        data, media = await run_in_threadpool(export, entry.record, fmt, stem)
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

    return app


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
    method = (method or "classical").strip()
    if len(method) > 32 or not all(c.isalnum() or c in "-_" for c in method):
        raise ApiError(422, "bad_request", "method must be a short name such as 'classical'.")
    if not 0 <= page <= 9999:
        raise ApiError(422, "bad_request", "page must be between 0 and 9999.")
    if not (math.isfinite(fs) and 50 <= fs <= 5000):
        raise ApiError(422, "bad_request", "fs must lie between 50 and 5000 Hz.")
    return Options(fs=float(fs), layout=layout,
                   paper_speed=_number(paper_speed, "paper_speed", 5, 200),
                   gain=_number(gain, "gain", 1, 100), page=int(page), method=method,
                   boxes=_parse_boxes(boxes), classify=bool(classify))


def _parse_boxes(text: str | None) -> list[dict] | None:
    if text is None or not text.strip() or text.strip() == "null":
        return None
    try:
        boxes = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(422, "bad_boxes", f"boxes is not valid JSON ({exc.msg}).") from None
    if not isinstance(boxes, list) or not 1 <= len(boxes) <= 64:
        raise ApiError(422, "bad_boxes", "boxes must be a JSON list of 1 to 64 lead boxes.")
    clean = []
    for i, box in enumerate(boxes):
        bbox = box.get("bbox") if isinstance(box, dict) else None
        if (not isinstance(box.get("lead") if isinstance(box, dict) else None, str)
                or not isinstance(bbox, list) or len(bbox) != 4
                or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in bbox)
                or not (bbox[0] < bbox[2] and bbox[1] < bbox[3])):
            raise ApiError(422, "bad_boxes", f"box {i} needs 'lead' (a name) and 'bbox' "
                           "[x0, y0, x1, y1] with x0 < x1 and y0 < y1 (image pixels).")
        out = {"lead": box["lead"][:16], "bbox": [float(v) for v in bbox]}
        for key in ("t0", "t1", "row", "col", "x0", "baseline_y"):
            if isinstance(box.get(key), (int, float)) and math.isfinite(box[key]):
                out[key] = box[key]
        clean.append(out)
    return clean


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
        raise ApiError(503, "digitizer_unavailable",
                       f"The digitizer cannot be loaded on this server ({exc}).") from exc
    kwargs: dict[str, Any] = {"fs": opts.fs, "layout": opts.layout, "paper_speed": opts.paper_speed,
                              "gain": opts.gain, "method": opts.method}
    if opts.boxes is not None and resolver.accepts("boxes"):
        kwargs["boxes"] = opts.boxes
    try:
        if opts.boxes is not None and "boxes" not in kwargs:
            record = digitize_with_boxes(upload.image, opts.boxes, digitize_fn=fn, **kwargs)
        else:
            record = fn(upload.image, **kwargs)
    except EcgDigitizeError as exc:
        code = next(c for cls, c in _ERROR_CODES if isinstance(exc, cls))
        raise ApiError(422, code, _friendly(code, exc.reason)) from exc
    except ValueError as exc:  # an option the digitizer rejects (unknown layout or method)
        raise ApiError(422, "bad_request", f"The digitizer refused the options: {exc}") from exc
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
