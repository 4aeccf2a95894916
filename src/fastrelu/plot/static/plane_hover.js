// A face's tooltip value: the body of a Bokeh CustomJSHover formatter of the column "face".
//
// Arguments: faces, corners, vertices, edges, switches (the map, see plane_update.js),
// plot, xr, yr (to measure pixels), spec (depth, widths, edge_pixels, n_faces, layers:
// each layer's name and whether it is a max-pool node, argmax).
// format is "what[:output]": face (its index and area), uv (the mouse), negative, layers
// (the count of each layer), map (y = a*u + b*v + c of an output), edge (the units
// switching across the face's side nearest the mouse, within spec.edge_pixels, as
// (layer, unit); a max-pool node's switch is a window whose argmax changes, so it reads
// (node, argmax of window w)).
// Numbers are printed in JavaScript's shortest round-trip form: the float64 itself.

const F = faces.data, f = value, str = (v) => String(v);
const [what, out] = format.split(":");
if (what == "face") return "#" + f + " of " + spec.n_faces + ", area " + str(F.area[f]);
if (what == "uv") return str(special_vars.x) + ", " + str(special_vars.y);
if (what == "negative") { let n = 0; for (let k = 0; k < spec.depth; k++) n += F["neg_" + k][f]; return str(n); }
if (what == "layers") { const r = []; for (let k = 0; k < spec.depth; k++) r.push(str(F["neg_" + k][f])); return r.join(", "); }
if (what == "map") return str(F["su_" + out][f]) + "*u + " + str(F["sv_" + out][f]) + "*v + " + str(F["c_" + out][f]);
if (what == "edge") {
  const S = F.start, fv = corners.data.vertex, U = vertices.data.u, V = vertices.data.v;
  const s = S[f], e = f + 1 < S.length ? S[f + 1] : fv.length;
  // pixels per unit of u and of v
  const px = plot.inner_width / (xr.end - xr.start), py = plot.inner_height / (yr.end - yr.start);
  const X = special_vars.x, Y = special_vars.y;
  let best = Infinity, bp = -1, bq = -1;
  for (let k = s; k < e; k++) {
    const p = fv[k], q = fv[k + 1 < e ? k + 1 : s];
    const ax = (U[p] - X) * px, ay = (V[p] - Y) * py, bx = (U[q] - X) * px, by = (V[q] - Y) * py;
    const dx = bx - ax, dy = by - ay, L = dx * dx + dy * dy;
    const t = L > 0 ? Math.min(Math.max(-(ax * dx + ay * dy) / L, 0), 1) : 0;
    const d = Math.hypot(ax + t * dx, ay + t * dy);
    if (d < best) { best = d; bp = Math.min(p, q); bq = Math.max(p, q); }
  }
  if (!(best <= spec.edge_pixels)) return "none within " + spec.edge_pixels + " pixels";
  const E = edges.data, lo = E.lo, hi = E.hi;
  let l = 0, h = lo.length;
  while (l < h) { const m = (l + h) >> 1; if (lo[m] < bp || (lo[m] == bp && hi[m] < bq)) l = m + 1; else h = m; }
  if (l >= lo.length || lo[l] != bp || hi[l] != bq) return "?";
  if (E.layer[l] < 0) return "the rectangle's side";
  const W = E.sw_start, u0 = W[l], u1 = l + 1 < W.length ? W[l + 1] : switches.data.unit.length;
  const r = [];
  for (let k = u0; k < u1; k++) {
    let unit = switches.data.unit[k], layer = 0;
    while (layer < spec.widths.length - 1 && unit >= spec.widths[layer]) { unit -= spec.widths[layer]; layer++; }
    r.push("(" + spec.layers.name[layer] + ", " + (spec.layers.argmax[layer] ? "argmax of window " : "") + unit + ")");
  }
  return r.length ? r.join(" ") : "none";
}
return str(value);
