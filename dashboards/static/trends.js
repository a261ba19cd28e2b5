// Trends: median price per unit with its IQR band by substance/market and month (the numbers
// of `trawl trends`), and listing counts over time.
"use strict";

trawl.start(async () => {
  const { el } = trawl;
  const state = trawl.params();
  const query = new URLSearchParams({ metric: "usd_per_unit", by: state.get("by") || "substance",
    interval: state.get("interval") || "month", unit: state.get("unit") || "g" });
  for (const name of ["substance", "site", "origin", "from", "to"]) if (state.get(name)) query.set(name, state.get(name));
  const prices = await trawl.json("/api/trends?" + query.toString());
  const countQuery = new URLSearchParams(query);
  countQuery.set("metric", "listings");
  countQuery.set("by", "site");
  const counts = await trawl.json("/api/trends?" + countQuery.toString());

  const groupName = (row) => Object.values(row.group).join(" · ") || "all";
  const grouped = (rows) => {
    const out = new Map();
    for (const row of rows) {
      const key = groupName(row);
      if (!out.has(key)) out.set(key, []);
      out.get(key).push(row);
    }
    return out;
  };

  const form = el("form", { id: "trend-form", method: "get", action: "/ui/trends" },
    el("label", {}, "substance ", el("input", { name: "substance", value: state.get("substance") || "" })), " ",
    el("label", {}, "market ", el("input", { name: "site", value: state.get("site") || "", size: 12 })), " ",
    el("label", {}, "group by ", el("select", { name: "by" }, ["substance", "site", "substance,site"].map((v) =>
      el("option", { value: v, selected: query.get("by") === v }, v)))), " ",
    el("label", {}, "interval ", el("select", { name: "interval" }, ["month", "week", "day"].map((v) =>
      el("option", { value: v, selected: query.get("interval") === v }, v)))), " ",
    el("label", {}, "unit ", el("select", { name: "unit" }, ["g", "ml", "unit"].map((v) =>
      el("option", { value: v, selected: query.get("unit") === v }, v)))), " ",
    el("button", {}, "show"));
  form.addEventListener("submit", () => {
    for (const input of form.querySelectorAll("input")) if (!input.value) input.disabled = true;
  });

  const priceGroups = [...grouped(prices.rows)].sort((a, b) => b[1].length - a[1].length).slice(0, 8);
  const priceCharts = priceGroups.map(([name, rows]) => el("figure", { class: "trend", "data-group": name },
    el("figcaption", {}, `${name}: median USD/${query.get("unit")} with IQR band`),
    trawlCharts.timeChart([{ name, points: rows.map((r) => [r.period, r.median]),
      band: rows.map((r) => [r.period, r.q1, r.q3]) }], { title: name, yLabel: `USD/${query.get("unit")}` })));

  const countGroups = [...grouped(counts.rows)];
  const countChart = trawlCharts.timeChart(countGroups.map(([name, rows]) => ({ name,
    points: rows.map((r) => [r.period, r.count]) })), { title: "listings over time", yLabel: "listings", zero: true });
  countChart.id = "count-chart";

  trawl.show(form, trawl.downloadButtons("trends", query), el("h2", {}, "Price per unit"),
    priceCharts.length ? el("div", { class: "trend-grid" }, priceCharts) : el("p", {}, "no prices in this selection"),
    el("h2", {}, "Listings seen per " + query.get("interval")), countChart,
    trawlCharts.legend(countGroups.map(([name]) => name)),
    el("details", {}, el("summary", {}, "the numbers"), trawl.table(["period", "group", "listings", "q1", "median",
      "q3"], prices.rows.map((r) => [r.period, groupName(r), String(r.count), trawl.money(r.q1), trawl.money(r.median),
      trawl.money(r.q3)]))));
});
