// New-substance candidates: substance-like tokens no reference list knows (read-only for now).
"use strict";

trawl.start(async () => {
  const { el } = trawl;
  const found = await trawl.json("/api/candidates");
  const rows = found.candidates.map((c) => [c.token, trawl.day(c.first_seen), trawl.day(c.last_seen), c.site,
    String(c.occurrences), c.pattern,
    el("span", {}, c.example_listing_ids.slice(0, 5).map((id) => [trawl.listingLink(id, id), " "]))]);
  trawl.show(el("h1", {}, "New substance candidates"),
    el("p", { class: "hint" }, "Tokens that look like substance names but match no reference list."),
    trawl.table(["token", "first seen", "last seen", "site", "occurrences", "pattern", "example listings"], rows));
});
