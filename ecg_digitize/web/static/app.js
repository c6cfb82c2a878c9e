// ecg-digitize web tool: upload, progress, results, corrections, downloads.
// Plain ES modules served by the package itself: no CDN, no build step.

import { drawPaper, qualityClass } from "./paper.js";
import { PageView } from "./pageview.js";

const $ = (id) => document.getElementById(id);
const state = { file: null, result: null, token: sessionStorage.getItem("ecg-token") || "", paperZoom: 4, busy: false };

const pageView = new PageView($("page"), (edited) => {
  $("rerun-boxes").disabled = !edited || state.busy;
  $("reset-boxes").disabled = !edited;
});
window.__ecg_pageview = pageView;

// ------------------------------------------------------------------ choosing a file
function choose(file) {
  if (!file) return;
  state.file = file;
  $("filename").textContent = `${file.name} (${(file.size / 1048576).toFixed(1)} MB)`;
  $("run").disabled = false;
  digitize();
}

const drop = $("drop");
$("file").addEventListener("change", (e) => choose(e.target.files[0]));
drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") $("file").click(); });
["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
drop.addEventListener("drop", (e) => choose(e.dataTransfer.files[0]));
$("options").addEventListener("submit", (e) => { e.preventDefault(); digitize(); });
$("rerun-boxes").addEventListener("click", () => digitize(pageView.editedBoxes()));
$("reset-boxes").addEventListener("click", () => pageView.resetBoxes());
$("show-boxes").addEventListener("change", (e) => { pageView.showBoxes = e.target.checked; pageView.draw(); });
$("show-traces").addEventListener("change", (e) => { pageView.showTraces = e.target.checked; pageView.draw(); });
$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  state.token = $("token").value.trim();
  sessionStorage.setItem("ecg-token", state.token);
  $("token-form").hidden = true;
  if (state.file) digitize();
});
document.querySelectorAll("[data-zoom]").forEach((btn) => btn.addEventListener("click", () => {
  const step = Number(btn.dataset.step);
  if (btn.dataset.zoom === "page") pageView.setZoom(step === 0 ? 1 : pageView.zoom * (step > 0 ? 1.5 : 1 / 1.5));
  else {
    state.paperZoom = step === 0 ? 4 : Math.min(16, Math.max(1.5, state.paperZoom * (step > 0 ? 1.5 : 1 / 1.5)));
    if (state.result) drawPaper($("paper"), state.result, state.paperZoom);
  }
}));
let resizeTimer;
window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => pageView.draw(), 150); });

// ------------------------------------------------------------------ talking to the server
// With a token, files are fetched with the Authorization header and handed over as blob
// URLs, so the token never appears in a URL (or in a server's access log).
async function authedBlobUrl(url) {
  const r = await fetch(url, { headers: { Authorization: `Bearer ${state.token}` } });
  if (!r.ok) {
    let msg = `The server answered ${r.status}.`;
    try { msg = (await r.json()).message || msg; } catch { /* not JSON */ }
    throw new Error(msg);
  }
  return URL.createObjectURL(await r.blob());
}

function authedLink(a, filename = null) {
  a.onclick = async (e) => {
    if (!state.token) return;  // no token: the plain link works
    e.preventDefault();
    try {
      const tmp = document.createElement("a");
      tmp.href = await authedBlobUrl(a.href);
      if (filename) tmp.download = filename; else tmp.target = "_blank";
      tmp.click();
      setTimeout(() => URL.revokeObjectURL(tmp.href), 60_000);
    } catch (err) { showError(err.message); }
  };
}

function setBusy(busy, text = "") {
  state.busy = busy;
  $("status").hidden = !busy;
  $("status-text").textContent = text;
  for (const id of ["run", "rerun-boxes"]) if (busy) $(id).disabled = true;
  if (!busy) $("run").disabled = !state.file;
  document.body.classList.toggle("busy", busy);
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function digitize(boxes = null) {
  if (!state.file || state.busy) return;
  showError("");
  const form = new FormData();
  form.append("file", state.file, state.file.name);
  for (const [k, v] of new FormData($("options")).entries()) if (k !== "classify") form.append(k, v);
  form.append("classify", $("opt-classify").checked ? "true" : "false");
  if (boxes) form.append("boxes", JSON.stringify(boxes));

  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/digitize");
  if (state.token) xhr.setRequestHeader("Authorization", `Bearer ${state.token}`);
  const started = performance.now();
  let timer = null;
  const progress = $("progress");
  progress.value = 0;
  setBusy(true, "Uploading…");
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) {
      progress.value = (100 * e.loaded) / e.total;
      $("status-text").textContent = `Uploading… ${Math.round(progress.value)} %`;
    }
  };
  xhr.upload.onload = () => {
    progress.removeAttribute("value");  // indeterminate while the page is digitized
    timer = setInterval(() => {
      $("status-text").textContent = `Digitizing… ${((performance.now() - started) / 1000).toFixed(0)} s`;
    }, 250);
    $("status-text").textContent = "Digitizing…";
  };
  xhr.onerror = () => { clearInterval(timer); setBusy(false); showError("The server could not be reached. Is `ecg-digitize serve` still running?"); };
  xhr.onload = () => {
    clearInterval(timer);
    setBusy(false);
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch { /* not JSON: handled below */ }
    if (xhr.status === 200 && body) { showResult(body); return; }
    if (xhr.status === 401) $("token-form").hidden = false;
    showError(body && body.message ? body.message : `The server answered ${xhr.status} ${xhr.statusText}.`);
  };
  xhr.send(form);
}

// ------------------------------------------------------------------ showing a result
function showResult(r) {
  state.result = r;
  window.__ecg_result = r;  // for scripted checks (the browser test) and the console
  $("result").hidden = false;
  const cal = r.calibration, guessed = new Set(cal.guessed || []);
  const g = (key, text) => (guessed.has(key) ? `${text} (assumed)` : text);
  const rows = [
    ["Source", r.source], ["Layout", r.layout], ["Leads", r.leads.join(" ")],
    ["Paper speed", g("mm_per_s", `${cal.mm_per_s} mm/s`)], ["Gain", g("mm_per_mv", `${cal.mm_per_mv} mm/mV`)],
    ["Scale", g("px_per_mm", cal.px_per_mm ? `${cal.px_per_mm.toFixed(2)} px/mm (${(cal.px_per_mm * 25.4).toFixed(0)} dpi)` : "unknown")],
    ["Samples", `${r.n_samples} at ${r.fs} Hz (${(r.n_samples / r.fs).toFixed(2)} s)`],
    ["Overall quality", r.quality && r.quality.overall != null ? r.quality.overall.toFixed(2) : "n/a"],
    ["Verdict", verdictText(r.quality)],
    ["Time on server", `${r.seconds.toFixed(2)} s`],
  ];
  $("summary").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", k), el("dd", String(v))]));
  $("warnings").replaceChildren(...(r.warnings || []).map((w) => el("li", w)));
  const stem = "ecg_" + r.source.replace(/\.[^.]*$/, "").replace(/[^A-Za-z0-9]/g, "_").slice(0, 40);
  for (const f of ["zip", "csv", "json"]) {
    $(`dl-${f}`).href = r.downloads[f];
    authedLink($(`dl-${f}`), `${stem}.${f}`);
  }
  $("verdict").textContent = verdictText(r.quality);
  $("verdict").className = `verdict verdict-${(r.quality && r.quality.verdict) || "none"}`;
  const q = (r.quality && r.quality.leads) || {};
  const expected = (r.quality && r.quality.lead_expected_snr_db) || {};
  $("leads").tBodies[0].replaceChildren(...r.leads.map((lead, j) => {
    const plotted = r.signal[j].filter((v) => v !== null).length / r.fs;
    const tr = el("tr");
    tr.append(el("td", lead, "lead-name"), el("td", q[lead] != null ? q[lead].toFixed(2) : "n/a", `q ${qualityClass(q[lead])}`),
      el("td", `${plotted.toFixed(1)} s`),
      el("td", expected[lead] != null ? `${expected[lead].toFixed(1)} dB` : "n/a"));
    return tr;
  }));
  drawPaper($("paper"), r, state.paperZoom);
  const img = new Image();
  img.onload = () => { pageView.show(r, img); $("rerun-boxes").disabled = true; $("reset-boxes").disabled = true; };
  img.onerror = () => showError("The page preview could not be loaded.");
  if (state.token) authedBlobUrl(r.image.preview).then((u) => { img.src = u; }, (err) => showError(err.message));
  else img.src = r.image.preview;
  showClasses(r.classification);
}

function el(tag, text = "", cls = "") {
  const e = document.createElement(tag);
  if (text) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

const pct = (p) => (p == null ? "n/a" : `${(100 * p).toFixed(0)} %`);

function showClasses(c) {
  const box = $("classes");
  if (!c) { box.replaceChildren(el("p", "Classifiers were not run (tick “run classifiers” and digitize again).")); return; }
  const parts = [
    ["Rhythm (CinC 2017: normal, AF, other, noisy)", c.rhythm, (x) => `${x.description || x.label} — ` +
      Object.entries(x.probabilities).map(([k, v]) => `${k} ${pct(v)}`).join(", ") + ` (lead ${x.lead})`],
    ["Myocardial infarction (PTB-XL)", c.mi, (x) => `${x.label}, probability ${pct(x.probability)} over ${x.n_beats} beats`],
    ["Beats by AAMI class", c.beats, (x) => Object.entries(x.counts).map(([k, v]) => `${k}: ${v}`).join(", ") + ` (${x.n_beats} beats, lead ${x.lead})`],
  ];
  box.replaceChildren(...parts.map(([title, x, fmt]) => {
    const div = el("div", "", "classifier");
    div.append(el("h3", title));
    if (!x) div.append(el("p", "not run"));
    else if (!x.available) div.append(el("p", x.message, "unavailable"));
    else if (x.error) div.append(el("p", `failed: ${x.error}`, "unavailable"));
    else {
      div.append(el("p", fmt(x)));
      for (const w of x.warnings || []) div.append(el("p", w, "small"));
    }
    if (x) {
      const a = el("a", `model card: ${x.model}`);
      a.href = x.card; a.target = "_blank"; a.rel = "noopener";
      authedLink(a);
      div.append(a);
    }
    return div;
  }));
}

// The quality model's verdict on the reading ("good" / "check" / "failed", docs/digitizer.md).
function verdictText(q) {
  if (!q || !q.verdict) return "n/a";
  return `${q.verdict} (expected SNR ${q.expected_snr_db.toFixed(1)} dB)`;
}
