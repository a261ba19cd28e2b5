// A vendor across markets: per-market records and stats, identities linked with their
// evidence, sales estimates (labelled as estimates) and the vendor's listings.
"use strict";

trawl.start(async () => {
  const { el } = trawl;
  const name = trawl.params().get("name") || "";
  const detail = await trawl.json("/api/vendors/" + encodeURIComponent(name));

  // identities strongly linked (same PGP key, wallet) are the same vendor: show their markets too
  const own = new Set(detail.markets.map((m) => m.vendor_id));
  const linked = [...new Set(detail.links.filter((l) => l.strength === "strong")
    .flatMap((l) => [l.a, l.b]).filter((id) => !own.has(id)))];
  for (const other of linked) {
    const found = await trawl.json("/api/vendors/" + encodeURIComponent(other) + "?links=false");
    for (const m of found.markets) {
      if (!own.has(m.vendor_id)) { own.add(m.vendor_id); detail.markets.push({ ...m, linkedBy: true }); }
    }
  }
  const markets = trawl.table(["market", "vendor id", "name", "listings", "first seen", "last seen",
    "sales (as displayed)", "rating", "feedback", "top substances"], detail.markets.map((m) => [
    m.site, m.linkedBy ? [m.vendor_id, el("span", { class: "hint" }, " (strongly linked)")] : m.vendor_id, m.name,
    String(m.listings), trawl.day(m.first_seen), trawl.day(m.last_seen),
    m.sales === null ? "" : String(m.sales), m.rating === null ? "" : String(m.rating),
    m.feedback_count === null ? "" : String(m.feedback_count),
    m.substances.map((s) => `${s.value} (${s.count})`).join(", ")]));
  markets.id = "markets";

  const links = detail.links.length ? trawl.table(["identity", "linked to", "kind", "strength", "score", "evidence"],
    detail.links.map((l) => [trawl.vendorLink(l.a), trawl.vendorLink(l.b), l.kind, l.strength,
      Number(l.score).toFixed(2), el("ul", {}, l.evidence.map((e) => el("li", {}, e)))]))
    : el("p", { class: "hint" }, "no identity on another market is linked to this vendor");
  const records = detail.vendors.map((v) => trawl.fields([["vendor id", v.vendor_id], ["joined", v.joined],
    ["PGP fingerprints", (v.pgp_fingerprints || []).join(", ")], ["aliases", (v.aliases || []).join(", ")],
    ["identifiers", Object.entries(v.identifiers || {}).map(([k, vs]) => `${k}: ${vs.join(", ")}`).join("; ")],
    ["evidence", v.evidence && v.evidence.run_id ? `${v.evidence.warc_file} @ ${v.evidence.warc_offset}` : ""]]));

  const sales = el("section", { id: "sales" }, el("h2", {}, "Sales estimates"),
    el("p", { class: "hint" }, "ESTIMATES: new feedback between snapshots, a lower bound on sales, not observed sales."));
  const listings = el("section", { id: "listings" }, el("h2", {}, "Listings"));
  trawl.show(el("h1", { id: "vendor-name" }, name), el("h2", {}, "Per market"), markets,
    el("h2", {}, "Identities across markets"), links, el("h2", {}, "Stored records"), ...records, sales, listings);

  for (const market of detail.markets) {
    const estimate = await trawl.json("/api/sales?vendor_id=" + encodeURIComponent(market.vendor_id));
    sales.append(el("p", { class: "estimate" }, `${market.site}: estimated ${estimate.estimated_sales} sale(s) ` +
      `(estimate), about ${trawl.money(estimate.estimated_revenue_usd)}, from ${estimate.intervals} interval(s)`));
    const found = await trawl.json("/api/search?facets=&limit=100&sort=-last_seen&vendor=" +
      encodeURIComponent(market.vendor_id));
    listings.append(el("h3", {}, `${market.site} (${found.total})`), trawl.table(["title", "substances", "USD/unit",
      "last seen"], found.hits.map((h) => [trawl.listingLink(h.listing.listing_id, h.listing.title),
      h.listing.substances.map((s) => s.name).join(", "), trawl.ppu(h.listing), trawl.day(h.listing.last_seen)])));
  }
});
