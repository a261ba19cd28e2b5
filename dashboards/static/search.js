// Search with facets: the URL's query string is the state, so every facet click is a link
// that narrows the search (and the back button widens it again).
"use strict";

const FACETS = [["substance", "substance"], ["control", "control"], ["class", "class"], ["site", "site"],
  ["vendor", "vendor"], ["origin", "origin"], ["destination", "destination"]];
const RANGES = [["price_min", "price ≥ $"], ["price_max", "price ≤ $"], ["ppu_min", "USD/unit ≥"],
  ["ppu_max", "USD/unit ≤"], ["last_seen_from", "last seen from"], ["last_seen_to", "last seen to"],
  ["first_seen_from", "first seen from"], ["first_seen_to", "first seen to"]];
const PAGE_SIZE = 25;

trawl.start(async () => {
  const { el } = trawl;
  const state = trawl.params();
  state.delete("facets");
  const asked = new URLSearchParams(state);
  asked.set("limit", String(PAGE_SIZE));
  asked.set("facet_size", "10");
  const result = await trawl.json("/api/search?" + asked.toString());

  const withParam = (name, value) => {
    const next = new URLSearchParams(state);
    if (value === null) next.delete(name); else next.set(name, value);
    next.delete("offset");
    return "/ui/?" + next.toString();
  };

  const form = el("form", { id: "search-form", method: "get", action: "/ui/" },
    el("input", { name: "q", id: "q", value: state.get("q") || "", size: 40, placeholder: "substance, vendor, text",
      "aria-label": "search text" }),
    ...FACETS.filter(([param]) => state.get(param)).map(([param]) =>
      el("input", { type: "hidden", name: param, value: state.get(param) })),
    el("button", { type: "submit" }, "search"),
    el("details", { class: "ranges", open: RANGES.some(([p]) => state.get(p)) },
      el("summary", {}, "prices and dates"),
      ...RANGES.map(([param, label]) => el("label", {}, label + " ",
        el("input", { name: param, value: state.get(param) || "", size: 10,
          type: param.includes("seen") ? "date" : "number", step: "any", min: param.includes("seen") ? null : 0 })))));
  form.addEventListener("submit", () => {  // leave empty fields out of the URL
    for (const input of form.querySelectorAll("input")) if (!input.value) input.disabled = true;
  });

  const chips = el("p", { class: "chips" }, FACETS.filter(([param]) => state.get(param)).map(([param]) =>
    el("a", { href: withParam(param, null), class: "chip", title: "remove this filter" },
      `${param}: ${state.get(param)} ×`)));

  const facets = el("aside", { class: "facets" }, FACETS.map(([name, param]) => {
    const values = result.facets[name] || [];
    if (!values.length) return null;
    return el("section", { class: "facet", "data-facet": name }, el("h3", {}, name),
      el("ul", {}, values.map((v) => el("li", {},
        el("a", { href: withParam(param, v.value), class: "facet-value", "data-value": v.value }, v.value),
        " ", el("span", { class: "count" }, String(v.count))))));
  }));

  const rows = result.hits.map((hit) => {
    const x = hit.listing;
    return [trawl.listingLink(x.listing_id, x.title), x.site, trawl.vendorLink(x.vendor),
      x.substances.map((s) => s.name).join(", "), trawl.money(x.price_usd), trawl.ppu(x), x.origin || "",
      trawl.day(x.last_seen)];
  });
  const offset = Number(state.get("offset") || 0);
  const atOffset = (value) => {
    const next = new URLSearchParams(state);
    if (value > 0) next.set("offset", String(value)); else next.delete("offset");
    return "/ui/?" + next.toString();
  };
  const pager = el("p", { class: "pager" },
    offset > 0 ? el("a", { href: atOffset(Math.max(0, offset - PAGE_SIZE)) }, "← previous") : null, " ",
    offset + PAGE_SIZE < result.total ? el("a", { href: atOffset(offset + PAGE_SIZE), id: "next-page" }, "next →")
      : null);

  trawl.show(form, chips,
    el("div", { class: "with-facets" }, facets,
      el("section", { class: "results" },
        el("p", { id: "total" }, `${result.total} listing(s)`), trawl.downloadButtons("listings", state),
        trawl.table(["title", "site", "vendor", "substances", "price", "USD/unit", "from", "last seen"], rows),
        pager)));
});
