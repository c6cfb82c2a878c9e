"""Records as the JSON the web API answers, and the page preview image."""
from __future__ import annotations

import io
from dataclasses import asdict
from typing import Any

import numpy as np

from ..record import jsonable

PREVIEW_MAX_SIDE = 1600  # px; enough to see every lead box, small enough to send quickly


def signal_lists(signal: np.ndarray, decimals: int = 4) -> list[list[float | None]]:
    """One list per lead (column), rounded to 0.1 uV, ``None`` where not plotted."""
    rounded = np.round(np.asarray(signal, dtype=float), decimals)
    out = []
    for col in rounded.T:
        values = col.tolist()
        if not np.isfinite(col).all():
            values = [v if v == v else None for v in values]  # NaN != NaN
        out.append(values)
    return out


def boxes_of(record: Any) -> list[dict[str, Any]]:
    """The lead boxes in image pixels (``lead``, ``bbox``, ``t0``, ``t1``, ``x0``, ``baseline_y``...)."""
    keep = ("lead", "label", "row", "col", "t0", "t1", "x0", "baseline_y", "bbox", "inverted", "size")
    return [jsonable({k: v for k, v in box.to_dict().items() if k in keep}) for box in record.geometry.boxes]


def record_payload(record: Any) -> dict[str, Any]:
    """The Record as the API's JSON: metadata, boxes and the samples per lead."""
    return {
        "leads": list(record.leads),
        "fs": float(record.fs),
        "n_samples": int(record.n_samples),
        "layout": record.layout,
        "calibration": jsonable(asdict(record.calibration)),
        "quality": jsonable(record.quality),
        "warnings": list(record.warnings),
        "boxes": boxes_of(record),
        "signal": signal_lists(record.signal),
    }


def preview_jpeg(image: Any, max_side: int = PREVIEW_MAX_SIDE) -> tuple[bytes, float]:
    """A JPEG of the page no larger than ``max_side``; returns the bytes and the scale used."""
    from PIL import Image

    im = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    im = im.convert("RGB")
    scale = min(1.0, max_side / max(im.size))
    if scale < 1.0:
        im = im.resize((max(1, round(im.size[0] * scale)), max(1, round(im.size[1] * scale))),
                       Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=85)
    return buf.getvalue(), scale
