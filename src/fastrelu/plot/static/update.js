// Redraws the page for the visible window: the body of a Bokeh CustomJS callback, run
// when the page is ready and whenever the shared x range changes.
//
// Arguments (Bokeh models, passed by name from fastrelu/plot/page.py):
//   xr           the shared x range
//   full         "pieces": every vertex; no glyph draws it
//   view         "view": the vertices the glyphs draw
//   twin         "twin": the linear twin's pieces (hi, slope_k, intercept_k)
//   kinks        "kinks": indices into full of the kink vertices, in increasing x
//   marks        "marks": the kink markers drawn (x, i, and y_0, y_1, ... one per output)
//   panels       per panel: its y range and the columns that fit it
//   spec         column names, and the number of reduction columns
//   max_markers  markers are drawn while at most this many kinks are in view
//
// The view holds the vertices of the window: all of them while they are at most 4 per
// pixel column, else each column's first, last, lowest and highest vertex (the
// reduction of fastrelu.plot.column_indices).  So drawing costs the same at any
// zoom and for any number of pieces, and a window of 10**-6 around a kink holds that
// kink's vertex itself.  The y ranges follow the window.

const a = xr.start, b = xr.end, F = full.data, x = F.x, n = x.length;
function first_at_least(arr, v, lo, hi) { while (lo < hi) { const m = (lo + hi) >> 1; if (arr[m] < v) lo = m + 1; else hi = m; } return lo; }
const i0 = Math.max(first_at_least(x, a, 0, n) - 1, 0), i1 = Math.min(first_at_least(x, b, 0, n), n - 1);
const m = i1 - i0 + 1, C = spec.columns, vals = spec.values;
let keep;
if (m <= 4 * C) {
  keep = new Int32Array(m); for (let k = 0; k < m; k++) keep[k] = i0 + k;
} else {
  const w = (b - a) / C, mark = new Uint8Array(m);
  const flush = (s, e) => {
    mark[s] = 1; mark[e - 1] = 1;
    for (const c of vals) {
      const v = F[c]; let lo = s, hi = s;
      for (let k = s + 1; k < e; k++) { const u = v[i0 + k]; if (u < v[i0 + lo]) lo = k; if (u > v[i0 + hi]) hi = k; }
      mark[lo] = 1; mark[hi] = 1;
    }
  };
  let col = NaN, start = 0;
  for (let k = 0; k < m; k++) {
    const c = Math.min(Math.max(Math.floor((x[i0 + k] - a) / w), -1), C);
    if (c !== col) { if (k > start) flush(start, k); col = c; start = k; }
  }
  flush(start, m);
  let count = 0; for (let k = 0; k < m; k++) count += mark[k];
  keep = new Int32Array(count); let j = 0;
  for (let k = 0; k < m; k++) if (mark[k]) keep[j++] = i0 + k;
}
const V = {};
for (const c of spec.copy) {
  const src = F[c], dst = new src.constructor(keep.length);
  for (let k = 0; k < keep.length; k++) dst[k] = src[keep[k]];
  V[c] = dst;
}
// the linear twin: its own pieces' lines at the kept x
const T = twin.data, tn = T.hi.length;
for (let o = 0; o < spec.twin_y.length; o++) {
  const ty = new Float64Array(keep.length), ts = new Float64Array(keep.length);
  const S = T["slope_" + o], I = T["intercept_" + o];
  for (let k = 0; k < keep.length; k++) {
    const X = V.x[k], j = Math.min(first_at_least(T.hi, X, 0, tn), tn - 1);
    ty[k] = S[j] * X + I[j]; ts[k] = S[j];
  }
  V[spec.twin_y[o]] = ty; V[spec.twin_slope[o]] = ts;
}
view.data = V;
// kink markers
const K = kinks.data.i, nk = K.length;
let k0 = 0, k1 = nk;
{ let lo = 0, hi = nk; while (lo < hi) { const q = (lo + hi) >> 1; if (x[K[q]] < a) lo = q + 1; else hi = q; } k0 = lo; }
{ let lo = k0, hi = nk; while (lo < hi) { const q = (lo + hi) >> 1; if (x[K[q]] <= b) lo = q + 1; else hi = q; } k1 = lo; }
// one marker per kink on every output drawn: columns y_0, y_1, ... (spec.y's order)
const shown = k1 - k0 <= max_markers ? k1 - k0 : 0;
const M = {x: new Float64Array(shown), i: new Int32Array(shown)};
for (let q = 0; q < shown; q++) { M.x[q] = x[K[k0 + q]]; M.i[q] = K[k0 + q]; }
for (let o = 0; o < spec.y.length; o++) {
  const Y = F[spec.y[o]], my = new Float64Array(shown);
  for (let q = 0; q < shown; q++) my[q] = Y[K[k0 + q]];
  M["y_" + o] = my;
}
marks.data = M;
// y ranges of the window
const vx = V.x, vn = vx.length;
for (const p of panels) {
  let lo = Infinity, hi = -Infinity;
  for (const [c, r, kind] of p.cols) {
    if (r != null && !r.visible) continue;
    const v = V[c];
    if (kind == "line") {
      for (let k = 0; k < vn; k++) if (vx[k] > a && vx[k] < b) { const u = v[k]; if (u < lo) lo = u; if (u > hi) hi = u; }
      for (const t of [a, b]) {
        const j = Math.max(Math.min(first_at_least(vx, t, 0, vn), vn - 1), 1);
        const dx = vx[j] - vx[j - 1];
        const u = dx > 0 ? v[j - 1] + (v[j] - v[j - 1]) * ((t - vx[j - 1]) / dx) : v[j];
        if (u < lo) lo = u; if (u > hi) hi = u;
      }
    } else {
      for (let k = 0; k < vn; k++) if (vx[k] < b && (k + 1 == vn || vx[k + 1] > a)) { const u = v[k]; if (u < lo) lo = u; if (u > hi) hi = u; }
    }
  }
  if (!isFinite(lo)) continue;
  if (p.zero) lo = Math.min(lo, 0);
  let pad = 0.06 * (hi - lo);
  if (!(pad > 0)) pad = Math.max(Math.abs(hi) * 1e-9, 1e-300);
  if (p.integer) pad = Math.max(pad, 0.5);
  p.range.start = lo - pad; p.range.end = hi + pad;
}
