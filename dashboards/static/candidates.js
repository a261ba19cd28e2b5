// New-substance candidates: substance-like tokens no reference list knows, with the latest decision on
// each (who, when); an admin may mark one reviewed or dismissed, or map it to a known substance (audited).
"use strict";

trawl.start(async () => {
  const { el } = trawl;
  const found = await trawl.json("/api/candidates");
  const decided = (c) => {
    const review = found.reviews[c.token];
    if (!review) return el("span", { class: "review", "data-token": c.token }, "open");
    const what = review.status === "mapped" ? `mapped to ${review.substance}` : review.status;
    return el("span", { class: "review", "data-token": c.token, "data-status": review.status },
      `${what} by ${review.who} on ${trawl.day(review.at)}`, review.note ? ` (${review.note})` : "");
  };
  const controls = (c) => {
    const status = el("span", { class: "review-error", "data-token": c.token });
    const act = async (action, body, button) => {
      button.disabled = true;
      try {
        await trawl.call(`/api/candidates/${encodeURIComponent(c.token)}/${action}`, body);
        await trawl.rerender();
      } catch (error) {
        status.textContent = " " + error.message;
        button.disabled = false;
      }
    };
    const mark = (label, statusName) => {
      const button = el("button", { type: "button", class: "mark", "data-token": c.token, "data-status": statusName,
        onclick: () => act("review", { status: statusName }, button) }, label);
      return button;
    };
    const substance = el("input", { type: "text", class: "map-substance", "data-token": c.token, size: 16,
      maxlength: 200, placeholder: "known substance", "aria-label": `map ${c.token} to a known substance` });
    const map = el("button", { type: "button", class: "map", "data-token": c.token, onclick: () => {
      if (substance.value.trim()) act("map", { substance: substance.value.trim() }, map);
    } }, "map");
    return [mark("reviewed", "reviewed"), " ", mark("dismiss", "dismissed"), " ", substance, map, status];
  };
  const rows = found.candidates.map((c) => [c.token, trawl.day(c.first_seen), trawl.day(c.last_seen), c.site,
    String(c.occurrences), c.pattern,
    el("span", {}, c.example_listing_ids.slice(0, 5).map((id) => [trawl.listingLink(id, id), " "])),
    decided(c), trawl.isAdmin() ? controls(c) : ""]);
  const table = trawl.table(["token", "first seen", "last seen", "site", "occurrences", "pattern", "example listings",
    "decision", ""], rows);
  table.id = "candidates";
  trawl.show(el("h1", {}, "New substance candidates"),
    el("p", { class: "hint" }, "Tokens that look like substance names but match no reference list. "
      + "A mapping adds the token as a synonym of the substance ($TRAWL_HOME/lists/candidate-mappings.yaml)."),
    table);
});
