// Hand-written SVG charts: time on x, a value on y, one circle per data point (with a
// <title> tooltip), optional IQR bands.  SVG presentation attributes and CSS classes only:
// no inline style, so the pages' CSP (style-src 'self') holds.
"use strict";

const trawlCharts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const W = 720, H = 260, LEFT = 72, RIGHT = 12, TOP = 12, BOTTOM = 28;

  function svg(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const time = (iso) => Date.parse(String(iso).length === 10 ? iso + "T00:00:00Z" : iso);
  const label = (v) => (Math.abs(v) >= 1000 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

  // series: [{name, points: [[iso, y]], band: [[iso, low, high]]}]
  function timeChart(series, options) {
    const opts = options || {};
    const usable = series.map((s) => ({
      name: s.name,
      points: (s.points || []).filter((p) => p[1] !== null && p[1] !== undefined).map((p) => [time(p[0]), +p[1], p[0]]),
      band: (s.band || []).filter((b) => b[1] !== null && b[2] !== null).map((b) => [time(b[0]), +b[1], +b[2]]),
    }));
    const xs = usable.flatMap((s) => s.points.map((p) => p[0]).concat(s.band.map((b) => b[0])));
    const ys = usable.flatMap((s) => s.points.map((p) => p[1]).concat(s.band.flatMap((b) => [b[1], b[2]])));
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img",
      "aria-label": opts.title || "chart", "data-points": usable.reduce((n, s) => n + s.points.length, 0) });
    if (!xs.length) {
      root.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" }, "no data"));
      return root;
    }
    let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    let [y0, y1] = [Math.min(...ys, opts.zero ? 0 : Infinity), Math.max(...ys)];
    if (x0 === x1) { x0 -= 86400000; x1 += 86400000; }
    if (y0 === y1) { y0 -= 1; y1 += 1; }
    const px = (x) => LEFT + ((x - x0) / (x1 - x0)) * (W - LEFT - RIGHT);
    const py = (y) => H - BOTTOM - ((y - y0) / (y1 - y0)) * (H - TOP - BOTTOM);

    root.append(svg("line", { x1: LEFT, y1: H - BOTTOM, x2: W - RIGHT, y2: H - BOTTOM, class: "axis" }));
    root.append(svg("line", { x1: LEFT, y1: TOP, x2: LEFT, y2: H - BOTTOM, class: "axis" }));
    for (const y of [y0, (y0 + y1) / 2, y1]) {
      root.append(svg("text", { x: LEFT - 6, y: py(y) + 4, "text-anchor": "end", class: "tick" }, label(y)));
      root.append(svg("line", { x1: LEFT, y1: py(y), x2: W - RIGHT, y2: py(y), class: "grid" }));
    }
    for (const [x, anchor] of [[x0, "start"], [x1, "end"]]) {
      root.append(svg("text", { x: px(x), y: H - 8, "text-anchor": anchor, class: "tick" },
        new Date(x).toISOString().slice(0, 10)));
    }
    if (opts.yLabel) root.append(svg("text", { x: 4, y: TOP + 4, class: "tick" }, opts.yLabel));

    usable.forEach((s, i) => {
      const colour = `series s${i % 6}`;
      if (s.band.length > 1) {
        const upper = s.band.map((b) => `${px(b[0])},${py(b[2])}`);
        const lower = s.band.slice().reverse().map((b) => `${px(b[0])},${py(b[1])}`);
        root.append(svg("polygon", { points: upper.concat(lower).join(" "), class: `band ${colour}` }));
      }
      if (s.points.length > 1) {
        root.append(svg("polyline", { points: s.points.map((p) => `${px(p[0])},${py(p[1])}`).join(" "),
          class: `line ${colour}`, fill: "none" }));
      }
      for (const p of s.points) {
        const dot = svg("circle", { cx: px(p[0]), cy: py(p[1]), r: 3, class: `point ${colour}` });
        dot.append(svg("title", {}, `${s.name}: ${label(p[1])} at ${p[2]}`));
        root.append(dot);
      }
    });
    return root;
  }

  function legend(names) {
    const list = document.createElement("ul");
    list.className = "legend";
    names.forEach((name, i) => {
      const item = document.createElement("li");
      item.className = `series s${i % 6}`;
      item.textContent = name;
      list.append(item);
    });
    return list;
  }

  return { timeChart, legend };
})();
