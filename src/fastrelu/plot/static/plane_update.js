// Redraws the region map for the visible window: the body of a Bokeh CustomJS callback,
// run when the page is ready and whenever the x or y range changes.
//
// Arguments (Bokeh models, passed by name from fastrelu/plot/plane_page.py):
//   xr, yr         the map's ranges (u and v)
//   faces          one row per face: start (its polygon in corners), color, ...
//   corners        vertex: the faces' polygons, counter-clockwise (CSR with faces.start)
//   vertices       u, v: every vertex, float64
//   edges          lo, hi (vertex indices), layer, unit
//   decisions      u0, v0, u1, v1: the decision boundary's segments
//   face_view, edge_view, decision_view   what the glyphs draw
//   status         the line under the map saying what is drawn
//   spec           depth, max_edges, n_faces, layers (grey: each layer's edge shade, 0-255)
//
// Each face is its exact polygon, or, zoomed in far, the exact part of it inside the
// window (clipped in float64), so that no vertex is ever far off screen: the canvas
// rounds coordinates to float32, which at a zoom of 10^9 would move a vertex by whole
// pixels.  The four range changes of one zoom are drawn once.

if (face_view.__fastrelu_pending) return;
face_view.__fastrelu_pending = true;
queueMicrotask(() => {
  face_view.__fastrelu_pending = false;
  const a = xr.start, b = xr.end, c = yr.start, d = yr.end;
  const F = faces.data, S = F.start, nf = S.length, fv = corners.data.vertex, U = vertices.data.u, V = vertices.data.v;
  const end_of = (i) => (i + 1 < nf ? S[i + 1] : fv.length);
  // each face's bounding box, once
  let box = face_view.__fastrelu_boxes;
  if (box == null) {
    box = {lu: new Float64Array(nf), hu: new Float64Array(nf), lv: new Float64Array(nf), hv: new Float64Array(nf)};
    for (let i = 0; i < nf; i++) {
      let lu = Infinity, hu = -Infinity, lv = Infinity, hv = -Infinity;
      for (let k = S[i], e = end_of(i); k < e; k++) {
        const u = U[fv[k]], v = V[fv[k]];
        if (u < lu) lu = u; if (u > hu) hu = u; if (v < lv) lv = v; if (v > hv) hv = v;
      }
      box.lu[i] = lu; box.hu[i] = hu; box.lv[i] = lv; box.hv[i] = hv;
    }
    face_view.__fastrelu_boxes = box;
  }
  // Sutherland-Hodgman against the window's four sides (the polygons are convex)
  function clip(X, Y) {
    for (let side = 0; side < 4 && X.length; side++) {
      const axis = side >> 1, bound = [a, b, c, d][side], low = (side & 1) == 0;
      const P = axis ? Y : X, nx = [], ny = [], n = X.length;
      for (let k = 0; k < n; k++) {
        const k2 = k + 1 == n ? 0 : k + 1, p = P[k], q = P[k2];
        const pin = low ? p >= bound : p <= bound, qin = low ? q >= bound : q <= bound;
        if (pin) { nx.push(X[k]); ny.push(Y[k]); }
        if (pin != qin) {
          const t = (bound - p) / (q - p);
          if (axis) { nx.push(X[k] + t * (X[k2] - X[k])); ny.push(bound); }
          else { nx.push(bound); ny.push(Y[k] + t * (Y[k2] - Y[k])); }
        }
      }
      X = nx; Y = ny;
    }
    return [X, Y];
  }
  // Two ways to draw the faces.  While the window spans at least spec.whole_span of the
  // rectangle (both ways), the view holds every face, unclipped, set once: Bokeh paints
  // those that meet the window, and no vertex is more than 1/whole_span frames off
  // screen, where float32 still places it within a tenth of a pixel.  Zoomed in further,
  // the view holds the faces that meet the window, each clipped to it.
  const [[U0, U1], [V0, V1]] = spec.bounds;
  const whole = (b - a) >= spec.whole_span * (U1 - U0) && (d - c) >= spec.whole_span * (V1 - V0);
  let in_view = 0;
  for (let i = 0; i < nf; i++) if (!(box.hu[i] < a || box.lu[i] > b || box.hv[i] < c || box.lv[i] > d)) in_view++;
  if (!(whole && face_view.__fastrelu_whole)) {
    const xs = [], ys = [], idx = [];
    for (let i = 0; i < nf; i++) {
      if (!whole && (box.hu[i] < a || box.lu[i] > b || box.hv[i] < c || box.lv[i] > d)) continue;
      const s = S[i], e = end_of(i), n = e - s;
      let X = new Float64Array(n), Y = new Float64Array(n);
      for (let k = 0; k < n; k++) { X[k] = U[fv[s + k]]; Y[k] = V[fv[s + k]]; }
      if (!whole && !(box.lu[i] >= a && box.hu[i] <= b && box.lv[i] >= c && box.hv[i] <= d)) {
        const [cx, cy] = clip(X, Y);
        // twice the area, about the first corner: at a zoom of 10^9 the corners' own
        // coordinates are 10^9 times the window, and their products would cancel to noise
        let area = 0;
        for (let k = 1, m = cx.length; k + 1 < m; k++)
          area += (cx[k] - cx[0]) * (cy[k + 1] - cy[0]) - (cx[k + 1] - cx[0]) * (cy[k] - cy[0]);
        if (!(area > 0)) continue;  // the face only touches the window
        X = Float64Array.from(cx); Y = Float64Array.from(cy);
      }
      xs.push(X); ys.push(Y); idx.push(i);
    }
    const color = new F.color.constructor(idx.length), face = new Int32Array(idx.length);
    for (let j = 0; j < idx.length; j++) { color[j] = F.color[idx[j]]; face[j] = idx[j]; }
    face_view.data = {xs: xs, ys: ys, color: color, face: face};
    face_view.__fastrelu_whole = whole;
    if (!whole) in_view = idx.length;
  }

  // Liang-Barsky: the part of segment (x0, y0)-(x1, y1) inside the window, or null
  function clip_segment(x0, y0, x1, y1) {
    let t0 = 0, t1 = 1;
    const dx = x1 - x0, dy = y1 - y0;
    for (const [p, q] of [[-dx, x0 - a], [dx, b - x0], [-dy, y0 - c], [dy, d - y0]]) {
      if (p == 0) { if (q < 0) return null; continue; }
      const r = q / p;
      if (p < 0) { if (r > t1) return null; if (r > t0) t0 = r; }
      else { if (r < t0) return null; if (r < t1) t1 = r; }
    }
    return [t0 > 0 ? x0 + t0 * dx : x0, t0 > 0 ? y0 + t0 * dy : y0, t1 < 1 ? x0 + t1 * dx : x1, t1 < 1 ? y0 + t1 * dy : y1];
  }
  // edges: only while few enough are in view to leave the faces visible
  const E = edges.data, ne = E.lo.length, seen = [];
  let edges_in_view = 0;
  for (let e = 0; e < ne; e++) {
    if (E.layer[e] < 0) continue;  // the rectangle's sides
    const p = E.lo[e], q = E.hi[e];
    if (Math.max(U[p], U[q]) < a || Math.min(U[p], U[q]) > b || Math.max(V[p], V[q]) < c || Math.min(V[p], V[q]) > d) continue;
    edges_in_view++;
    if (edges_in_view <= spec.max_edges) seen.push(e);
  }
  const ex0 = [], ey0 = [], ex1 = [], ey1 = [], shade = [];
  if (edges_in_view <= spec.max_edges) {
    for (const e of seen) {
      const s = clip_segment(U[E.lo[e]], V[E.lo[e]], U[E.hi[e]], V[E.hi[e]]);
      if (s == null) continue;
      ex0.push(s[0]); ey0.push(s[1]); ex1.push(s[2]); ey1.push(s[3]);
      shade.push(spec.layers.grey[E.layer[e]]);  // the figure's shade of the layer (a graph's node) that cut it
    }
  }
  const grey = new edge_view.data.grey.constructor(shade.length);
  for (let j = 0; j < shade.length; j++) grey[j] = shade[j];
  edge_view.data = {x0: Float64Array.from(ex0), y0: Float64Array.from(ey0), x1: Float64Array.from(ex1),
                    y1: Float64Array.from(ey1), grey: grey};
  // the decision boundary
  const D = decisions.data, dx0 = [], dy0 = [], dx1 = [], dy1 = [];
  for (let k = 0; k < D.u0.length; k++) {
    const s = clip_segment(D.u0[k], D.v0[k], D.u1[k], D.v1[k]);
    if (s == null) continue;
    dx0.push(s[0]); dy0.push(s[1]); dx1.push(s[2]); dy1.push(s[3]);
  }
  decision_view.data = {x0: Float64Array.from(dx0), y0: Float64Array.from(dy0), x1: Float64Array.from(dx1),
                        y1: Float64Array.from(dy1)};
  const edge_text = edges_in_view <= spec.max_edges ? `${ex0.length.toLocaleString("en-US")} edges drawn`
    : `${edges_in_view.toLocaleString("en-US")} edges in view, not drawn (more than ${spec.max_edges.toLocaleString("en-US")}: zoom in to see them)`;
  // The status line goes on in a task of its own: its new text lays the page out and
  // paints it at once, which must come after the glyphs have taken their new data.
  setTimeout(() => {
    status.text = `u from ${a} to ${b}, v from ${c} to ${d}: ${in_view.toLocaleString("en-US")} of ` +
      `${spec.n_faces.toLocaleString("en-US")} faces in view, ${edge_text}.`;
    status.tags = [in_view, ex0.length, a, b, c, d];
  }, 0);
});
