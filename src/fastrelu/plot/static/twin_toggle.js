// The linear twin's check box: the body of a Bokeh CustomJS callback on its "active".
//
// Arguments: rs (the twin's renderers), update (the window's redraw, update.js): shown
// or hidden, the twin counts or stops counting in the y ranges.

const on = cb_obj.active.includes(0);
for (const r of rs) r.visible = on;
update.execute(cb_obj);
