// Colours the faces by what the "faces coloured by" menu names: the body of a Bokeh
// CustomJS callback on the menu's value.
//
// Arguments: faces (one row per face: pattern_color, neg_<k>, su_<j>, sv_<j>), face_view
// (what is drawn), update (the window's redraw, plane_update.js), mapper and colorbar
// (the colour bar of a count or a size), spec (depth, outputs, palettes: per quantity,
// 256 colours light to dark as packed 0xRRGGBBAA and as "#rrggbb").
//
// The activation pattern gives each face its hash's colour (as the figure's map does);
// the negative count and the gradient's size are constant on a face, so a face coloured
// by them is exact, as the figure's right-hand panels are pixel by pixel.

const F = faces.data, n = F.start.length, what = cb_obj.value;
if (what == "activation pattern") {
  F.color = F.pattern_color;
  colorbar.visible = false;
} else {
  const v = new Float64Array(n), j = spec.outputs[0];
  for (let i = 0; i < n; i++) {
    if (what == "negative units") { let s = 0; for (let k = 0; k < spec.depth; k++) s += F["neg_" + k][i]; v[i] = s; }
    else v[i] = Math.hypot(F["su_" + j][i], F["sv_" + j][i]);
  }
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i]; }
  const P = spec.palettes[what].packed, top = P.length - 1, color = new F.pattern_color.constructor(n);
  for (let i = 0; i < n; i++) color[i] = P[hi > lo ? Math.floor((v[i] - lo) / (hi - lo) * top + 0.5) : 0];
  F.color = color;
  mapper.palette = spec.palettes[what].hex;
  mapper.low = lo; mapper.high = hi > lo ? hi : lo + 1;
  colorbar.title = what;
  colorbar.visible = true;
}
face_view.__fastrelu_whole = false;  // the view takes the new colours
update.execute(cb_obj);
