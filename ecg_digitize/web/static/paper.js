// The digitized leads drawn on ECG paper: 25 mm/s, 10 mm/mV, 1 mm minor and 5 mm major grid.
// Plain canvas, no plotting library: the page must work offline and without a build step.

const ROW_MM = 30;      // vertical room per lead (3 mV at 10 mm/mV)
const LEFT_MM = 15;     // margin (a major line, so 0 s falls on one) for the lead name and a 1 mV pulse
const MAX_CANVAS_PX = 16e6;

export const qualityClass = (q) => (q == null ? "q-none" : q >= 0.8 ? "q-good" : q >= 0.5 ? "q-fair" : "q-poor");
export const qualityColour = (q) =>
  q == null ? "#777" : q >= 0.8 ? "#1a7f37" : q >= 0.5 ? "#b26b00" : "#c62828";

/** Draw `result` (the API's JSON) on `canvas` at `pxPerMm` CSS pixels per millimetre. */
export function drawPaper(canvas, result, pxPerMm) {
  const fs = result.fs, n = result.n_samples, leads = result.leads;
  const seconds = n / fs;
  const widthMm = LEFT_MM + seconds * 25 + 4, heightMm = leads.length * ROW_MM + 8;
  const cssW = Math.ceil(widthMm * pxPerMm), cssH = Math.ceil(heightMm * pxPerMm);
  // Sharp on high-density screens, but never a canvas too large for the browser.
  const dpr = Math.max(1, Math.min(window.devicePixelRatio || 1, Math.sqrt(MAX_CANVAS_PX / (cssW * cssH))));
  canvas.width = Math.floor(cssW * dpr); canvas.height = Math.floor(cssH * dpr);
  canvas.style.width = cssW + "px"; canvas.style.height = cssH + "px";
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = "#fffaf8"; ctx.fillRect(0, 0, cssW, cssH);
  grid(ctx, cssW, cssH, pxPerMm);

  const q = (result.quality && result.quality.leads) || {};
  leads.forEach((lead, j) => {
    const base = (j * ROW_MM + ROW_MM * 0.6 + 4) * pxPerMm;
    ctx.fillStyle = qualityColour(q[lead]);
    ctx.font = `bold ${Math.max(10, 3.5 * pxPerMm)}px system-ui, sans-serif`;
    ctx.fillText(lead, 1 * pxPerMm, base - 4 * pxPerMm);
    // 1 mV calibration pulse, 5 mm wide
    ctx.strokeStyle = "#222"; ctx.lineWidth = Math.max(1, 0.15 * pxPerMm);
    const c0 = 5 * pxPerMm, mv = 10 * pxPerMm;
    ctx.beginPath();
    ctx.moveTo(c0 - 2 * pxPerMm, base); ctx.lineTo(c0, base); ctx.lineTo(c0, base - mv);
    ctx.lineTo(c0 + 5 * pxPerMm, base - mv); ctx.lineTo(c0 + 5 * pxPerMm, base); ctx.lineTo(c0 + 7 * pxPerMm, base);
    ctx.stroke();
    // the lead, broken where it was not plotted (null)
    const sig = result.signal[j];
    const x0 = LEFT_MM * pxPerMm, xs = (25 * pxPerMm) / fs, ys = 10 * pxPerMm;
    ctx.strokeStyle = "#111"; ctx.lineWidth = Math.max(1, 0.12 * pxPerMm);
    ctx.beginPath();
    let pen = false;
    for (let i = 0; i < sig.length; i++) {
      const v = sig[i];
      if (v === null) { pen = false; continue; }
      const x = x0 + i * xs, y = base - v * ys;
      if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      pen = true;
    }
    ctx.stroke();
  });
  // time axis labels every second
  ctx.fillStyle = "#555"; ctx.font = `${Math.max(9, 2.5 * pxPerMm)}px system-ui, sans-serif`;
  for (let s = 0; s <= seconds; s++) {
    ctx.fillText(`${s} s`, (LEFT_MM + s * 25) * pxPerMm + 2, cssH - 2);
  }
}

function grid(ctx, w, h, ppm) {
  const line = (step, colour, width) => {
    ctx.strokeStyle = colour; ctx.lineWidth = width; ctx.beginPath();
    for (let x = 0; x <= w; x += step) { ctx.moveTo(Math.round(x) + 0.5, 0); ctx.lineTo(Math.round(x) + 0.5, h); }
    for (let y = 0; y <= h; y += step) { ctx.moveTo(0, Math.round(y) + 0.5); ctx.lineTo(w, Math.round(y) + 0.5); }
    ctx.stroke();
  };
  if (ppm >= 2.5) line(ppm, "#f6c9c9", 0.5);  // 1 mm: 0.04 s, 0.1 mV (hidden when too dense)
  line(5 * ppm, "#eb9191", 1);                 // 5 mm: 0.2 s, 0.5 mV
}
