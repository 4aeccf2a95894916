// A tooltip's value: the body of a Bokeh CustomJSHover formatter.
//
// Arguments: full (every vertex), layers (the names of the running sums by layer).
// format is "what:column": x, at (y on the piece at the mouse), v (a column's value on
// that piece), layers (the count of each layer), piece (its index and ends).
//
// The piece under the mouse is looked up in the full data by x, not by the drawn vertex,
// so a tooltip gives the piece's own values at any zoom.  Numbers are printed in
// JavaScript's shortest round-trip form: the float64 itself.

const F = full.data, x = F.x, n = x.length, X = special_vars.x;
const str = (v) => (v == null ? "" : String(v));
let lo = 0, hi = n; while (lo < hi) { const m = (lo + hi) >> 1; if (x[m] <= X) lo = m + 1; else hi = m; }
const j = Math.min(Math.max(lo - 1, 0), Math.max(n - 2, 0));
const [what, col] = format.split(":");
if (what == "x") return str(X);
if (what == "at") return str(F[col.replace("slope", "y")][j] + F[col][j] * (X - x[j]));
if (what == "v") return str(F[col][j]);
if (what == "layers") return layers.map((c, k) => str(F[c][j] - (k ? F[layers[k - 1]][j] : 0))).join(", ");
if (what == "piece") return "#" + j + ": " + str(x[j]) + " to " + str(x[j + 1]);
return str(value);
