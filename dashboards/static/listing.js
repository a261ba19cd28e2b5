// One listing: its fields, its price history as a chart, its substances and why they matched,
// its sales estimate, and the archived page it was parsed from, shown inert.
"use strict";

// Added in front of the archived page inside the frame: a second policy that fetches nothing
const ARCHIVE_META = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; " +
  "img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">";

trawl.start(async () => {
  const { el } = trawl;
  const id = trawl.params().get("id") || "";
  const detail = await trawl.json("/api/listings/" + encodeURIComponent(id));
  const x = detail.listing;
  const ev = detail.evidence;

  const substanceRows = [...x.substances, ...(x.mentioned_substances || [])].map((s) => [
    s.name, s.substance_class, (s.controls || []).join(", "), s.relation, s.match_type,
    s.score ? Number(s.score).toFixed(1) : "", s.matched_text]);

  const history = detail.snapshots;
  const unit = x.quantity_unit || "unit";
  const chart = trawlCharts.timeChart([
    { name: `USD/${unit}`, points: history.map((s) => [s.crawled_at, s.usd_per_unit]) },
  ], { title: "price per unit over time", yLabel: `USD/${unit}` });
  chart.id = "price-chart";
  const stockChart = history.some((s) => s.stock !== null)
    ? trawlCharts.timeChart([{ name: "stock", points: history.map((s) => [s.crawled_at, s.stock]) }],
      { title: "stock over time", yLabel: "stock", zero: true }) : null;

  const archive = el("section", { id: "archive" }, el("h2", {}, "Archived page"),
    trawl.fields([["run", ev.run_id], ["WARC file", ev.warc_file], ["offset", String(ev.warc_offset)],
      ["payload sha256", el("code", {}, ev.payload_sha256)], ["mirror", ev.mirror], ["proxy", ev.proxy]]),
    el("button", { type: "button", id: "show-archive", onclick: () => showArchive(id) }, "show archived page"), " ",
    ev.run_id ? el("button", { type: "button", id: "verify-run", onclick: () => verifyRun(ev.run_id) },
      "verify this run's evidence") : null, el("p", { id: "verify-status" }),
    el("div", { id: "archive-view" }));

  const sales = el("section", { id: "sales" }, el("h2", {}, "Sales estimate"));
  trawl.show(
    el("h1", { id: "title" }, x.title),
    trawl.fields([["listing id", x.listing_id], ["site", `${x.site} (${x.market_kind})`],
      ["vendor", trawl.vendorLink(x.vendor)], ["URL (not a link: it leaves this network)", x.url],
      ["category", x.category], ["quantity", x.quantity_amount === null ? "" : `${x.quantity_amount} ${unit}`],
      ["price", x.price_amount === null ? "" : `${x.price_amount} ${x.price_currency || ""} (${trawl.money(x.price_usd)})`],
      ["USD per unit", trawl.ppu(x)], ["dose (mg)", x.dose_mg], ["purity (%)", x.purity_pct], ["origin", x.origin],
      ["ships to", (x.destinations || []).join(", ")], ["stock", x.stock], ["feedback", x.feedback_count],
      ["first seen", x.first_seen], ["last seen", x.last_seen], ["parse problems", (x.parse_errors || []).join("; ")]]),
    el("h2", {}, `Price history (${history.length} snapshot(s))`), chart, stockChart,
    el("h2", {}, "Substances"),
    trawl.table(["substance", "class", "controls", "relation", "matched as", "score", "matched text"], substanceRows),
    x.description ? el("details", {}, el("summary", {}, "description"), el("pre", { class: "description" }, x.description))
      : null,
    sales, archive);

  try {
    const estimate = await trawl.json("/api/sales?listing_id=" + encodeURIComponent(id));
    sales.append(el("p", { class: "estimate" },
      `Estimated sales (an ESTIMATE, a lower bound): ${estimate.estimated_sales} over ${estimate.intervals} ` +
      `interval(s), about ${trawl.money(estimate.estimated_revenue_usd)}`), el("p", { class: "hint" }, estimate.method));
  } catch (error) {
    sales.append(el("p", { class: "hint" }, "no estimate: " + error.message));
  }
});

async function showArchive(id) {
  const { el } = trawl;
  const view = document.getElementById("archive-view");
  let response;
  try {
    response = await trawl.call("/api/evidence/" + encodeURIComponent(id));
  } catch (error) {
    view.replaceChildren(el("p", { class: "error" }, "archived page not available: " + error.message));
    return;
  }
  const kind = response.headers.get("x-archived-content-type") || "";
  const match = response.headers.get("x-payload-match") === "yes";
  const status = el("p", { id: "archive-digest", class: match ? "ok" : "error" },
    match ? "payload sha256 matches the stored digest" : "payload sha256 DIFFERS from the stored digest: " +
      response.headers.get("x-payload-sha256"),
    " · archived from ", el("code", {}, response.headers.get("x-archived-url") || "?"));
  if (kind !== "text/html" && kind !== "application/xhtml+xml") {
    view.replaceChildren(status, el("pre", { class: "archived-text" }, (await response.text()).slice(0, 200000)));
    return;
  }
  // sandbox="" : no scripts, no same origin, no forms, no popups, no top navigation; the
  // frame is also inert to the mouse (a followed link would be a request leaving it)
  const frame = el("iframe", { id: "archive-frame", sandbox: "", referrerpolicy: "no-referrer",
    title: "archived page (inert)", class: "archive-frame" });
  frame.srcdoc = ARCHIVE_META + (await response.text());
  view.replaceChildren(status, frame);
}

async function verifyRun(runId) {
  const { el } = trawl;
  const status = document.getElementById("verify-status");
  status.replaceChildren("verifying…");
  try {
    const report = await trawl.json("/api/runs/" + encodeURIComponent(runId) + "/verify");
    status.className = report.ok ? "ok" : "error";
    status.replaceChildren(`evidence verify: ${report.status} (${report.records} record(s), head ${report.state})`,
      report.problems.length ? el("ul", {}, report.problems.slice(0, 20).map((p) => el("li", {}, p))) : "");
  } catch (error) {
    status.className = "error";
    status.replaceChildren("evidence verify: " + error.message);
  }
}
