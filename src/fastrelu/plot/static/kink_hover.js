// A kink marker's tooltip value: the body of a Bokeh CustomJSHover formatter.
//
// Arguments: full (every vertex), marks (the markers drawn; column i indexes full).
// format is "what:column": left (the value on the piece left of the kink), v (on the
// piece it starts), units (the (layer, unit) pairs switching there).

const F = full.data, v = marks.data.i[special_vars.index];
const str = (u) => (u == null ? "" : String(u));
const [what, col] = format.split(":");
if (what == "left") return str(F[col][v - 1]);
if (what == "v") return str(F[col][v]);
if (what == "units") return F.units == null ? "" : (F.units[v] || "none");
return str(value);
