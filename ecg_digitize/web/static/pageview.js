// The uploaded page with the detected lead boxes and the digitized traces drawn over it.
// Boxes can be moved (drag inside) and resized (drag the bottom-right corner); coordinates
// stay in the full-size page's pixels, as the API reports and expects them.

import { qualityColour } from "./paper.js";

const HANDLE_PX = 10;

export class PageView {
  constructor(canvas, onEdit) {
    this.canvas = canvas;
    this.onEdit = onEdit;
    this.image = null;
    this.result = null;
    this.boxes = [];
    this.zoom = 1;          // multiple of the fit-to-width scale
    this.showBoxes = true;
    this.showTraces = true;
    this.drag = null;
    canvas.addEventListener("pointerdown", (e) => this._down(e));
    canvas.addEventListener("pointermove", (e) => this._move(e));
    canvas.addEventListener("pointerup", (e) => this._up(e));
    canvas.addEventListener("pointercancel", (e) => this._up(e));
    canvas.addEventListener("wheel", (e) => {
      if (!e.ctrlKey) return;  // plain wheel scrolls; ctrl+wheel zooms
      e.preventDefault();
      this.setZoom(this.zoom * (e.deltaY < 0 ? 1.25 : 0.8));
    }, { passive: false });
  }

  /** Show a new result; `image` is the loaded preview <img>. */
  show(result, image) {
    this.result = result;
    this.image = image;
    this.boxes = result.boxes.map((b) => ({ ...b, bbox: [...b.bbox], edited: false }));
    this.draw();
  }

  resetBoxes() {
    if (this.result) this.show(this.result, this.image);
    this.onEdit(false);
  }

  editedBoxes() {
    return this.boxes.map((b) => {
      const out = { lead: b.lead, bbox: b.bbox.map((v) => Math.round(v * 10) / 10), t0: b.t0, t1: b.t1 };
      if (b.row !== undefined) { out.row = b.row; out.col = b.col; }
      return out;
    });
  }

  setZoom(z) {
    this.zoom = Math.min(8, Math.max(0.25, z));
    this.draw();
  }

  get pageWidth() { return this.result.image.width || this.image.naturalWidth; }
  get pageHeight() { return this.result.image.height || this.image.naturalHeight; }

  /** CSS pixels per page pixel. */
  get scale() {
    const avail = Math.max(300, this.canvas.parentElement.clientWidth - 4);
    return (avail / this.pageWidth) * this.zoom;
  }

  draw() {
    if (!this.result || !this.image) return;
    const s = this.scale, w = Math.round(this.pageWidth * s), h = Math.round(this.pageHeight * s);
    const dpr = Math.max(1, Math.min(window.devicePixelRatio || 1, Math.sqrt(16e6 / (w * h))));
    const c = this.canvas;
    c.width = Math.floor(w * dpr); c.height = Math.floor(h * dpr);
    c.style.width = w + "px"; c.style.height = h + "px";
    const ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.drawImage(this.image, 0, 0, w, h);
    let drawn = 0;
    if (this.showTraces) drawn += this._traces(ctx, s);
    if (this.showBoxes) this._boxes(ctx, s);
    c.dataset.boxes = this.showBoxes ? String(this.boxes.length) : "0";
    c.dataset.traces = String(drawn);
  }

  _boxes(ctx, s) {
    const q = (this.result.quality && this.result.quality.leads) || {};
    ctx.font = "bold 13px system-ui, sans-serif";
    for (const b of this.boxes) {
      const [x0, y0, x1, y1] = b.bbox.map((v) => v * s);
      const colour = qualityColour(q[b.lead]);
      ctx.strokeStyle = colour; ctx.lineWidth = b === this.selected ? 3 : 1.5;
      ctx.setLineDash(b.edited ? [6, 4] : []);
      ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      ctx.setLineDash([]);
      const label = `${b.lead}${q[b.lead] != null ? " " + q[b.lead].toFixed(2) : ""}`;
      const tw = ctx.measureText(label).width + 8;
      ctx.fillStyle = colour; ctx.fillRect(x0, y0, tw, 18);
      ctx.fillStyle = "#fff"; ctx.fillText(label, x0 + 4, y0 + 14);
      ctx.fillStyle = colour; ctx.fillRect(x1 - HANDLE_PX, y1 - HANDLE_PX, HANDLE_PX, HANDLE_PX);
    }
  }

  _traces(ctx, s) {
    const r = this.result, cal = r.calibration;
    if (!cal.px_per_mm) return 0;
    // time across the page, millivolts down it (px_per_mm_y where the pixels are not square)
    const pxPerS = cal.px_per_mm * cal.mm_per_s, pxPerMv = (cal.px_per_mm_y || cal.px_per_mm) * cal.mm_per_mv;
    ctx.strokeStyle = "rgba(0, 110, 255, 0.85)"; ctx.lineWidth = 1.5;
    let count = 0;
    // the boxes as detected: traces show what was read, not where boxes were dragged to
    for (const b of r.boxes) {
      const j = r.leads.indexOf(b.lead);
      if (j < 0 || b.x0 == null || b.baseline_y == null) continue;
      const sig = r.signal[j], sign = b.inverted ? -1 : 1, k = b.size || 1;  // size: a page seen at a slant
      const n0 = Math.max(0, Math.round(b.t0 * r.fs)), n1 = Math.min(sig.length, Math.round(b.t1 * r.fs));
      ctx.beginPath();
      let pen = false;
      for (let i = n0; i < n1; i++) {
        const v = sig[i];
        if (v === null) { pen = false; continue; }
        const x = (b.x0 + (i / r.fs - b.t0) * pxPerS * k) * s, y = (b.baseline_y - sign * v * pxPerMv * k) * s;
        if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        pen = true; count++;
      }
      ctx.stroke();
    }
    return count;
  }

  // ------------------------------------------------------------ box editing
  _at(e) {
    const rect = this.canvas.getBoundingClientRect(), s = this.scale;
    return [(e.clientX - rect.left) / s, (e.clientY - rect.top) / s];
  }

  _down(e) {
    if (!this.showBoxes || !this.result) return;
    const [x, y] = this._at(e), tol = HANDLE_PX / this.scale;
    // corner handles first; otherwise the smallest box under the pointer (rhythm strips are wide)
    let hit = this.boxes.find((b) => Math.abs(x - b.bbox[2]) < tol && Math.abs(y - b.bbox[3]) < tol);
    let mode = "resize";
    if (!hit) {
      const inside = this.boxes.filter((b) => x >= b.bbox[0] && x <= b.bbox[2] && y >= b.bbox[1] && y <= b.bbox[3]);
      inside.sort((a, b) => (a.bbox[2] - a.bbox[0]) * (a.bbox[3] - a.bbox[1]) - (b.bbox[2] - b.bbox[0]) * (b.bbox[3] - b.bbox[1]));
      hit = inside[0]; mode = "move";
    }
    if (!hit) return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.selected = hit;
    this.drag = { box: hit, mode, x, y, start: [...hit.bbox] };
    this.draw();
  }

  _move(e) {
    if (!this.drag) return;
    const [x, y] = this._at(e), d = this.drag, b = d.box, dx = x - d.x, dy = y - d.y;
    if (d.mode === "move") {
      b.bbox = [d.start[0] + dx, d.start[1] + dy, d.start[2] + dx, d.start[3] + dy];
    } else {
      const min = 10 / this.scale;
      b.bbox = [d.start[0], d.start[1], Math.max(d.start[0] + min, d.start[2] + dx), Math.max(d.start[1] + min, d.start[3] + dy)];
    }
    b.edited = true;
    this.draw();
  }

  _up() {
    if (!this.drag) return;
    const moved = this.drag.box.edited;
    this.drag = null;
    if (moved) this.onEdit(true);
  }
}
