// Operations: sites with their last run, recent runs and alerts; an admin may start a crawl now.
"use strict";

trawl.start(async () => {
  const { el } = trawl;
  const [sites, runs, alerts] = await Promise.all([trawl.json("/api/sites"), trawl.json("/api/runs?limit=50"),
    trawl.json("/api/alerts?limit=50")]);
  // admins may start a crawl now (POST /api/crawl, JSON body, Bearer header: no form can forge it)
  const runNow = (name) => {
    const status = el("span", { class: "run-status", "data-site": name });
    const button = el("button", { type: "button", class: "run-now", "data-site": name, onclick: async () => {
      button.disabled = true;
      try {
        const started = await trawl.call("/api/crawl", { site: name }).then((r) => r.json());
        status.textContent = ` started (pid ${started.pid})`;
      } catch (error) {
        status.textContent = " " + error.message;
        button.disabled = false;
      }
    } }, "run now");
    return [button, status];
  };
  const siteRows = sites.sites.map((s) => [s.name, s.origin, s.kind || "", s.network || "", s.render || "",
    s.last_run ? `${s.last_run.run_id} (${s.last_run.status})` : "never run", s.error || "",
    trawl.isAdmin() && !s.error ? runNow(s.name) : ""]);
  const headline = (r) => Object.entries(r).filter(([k]) => !["run_id", "site", "status"].includes(k))
    .filter(([, v]) => typeof v === "number" || typeof v === "string").slice(0, 8).map(([k, v]) => `${k}: ${v}`)
    .join(", ");
  const runRows = runs.runs.map((r) => [r.run_id, r.site || "", r.status, headline(r)]);
  const alertRows = alerts.alerts.map((a) => [a.time, a.kind, a.summary]);
  const siteTable = trawl.table(["site", "origin", "kind", "network", "render", "last run", "problem", ""], siteRows);
  siteTable.id = "sites";
  trawl.show(el("h1", {}, "Operations"), el("h2", {}, "Sites"), siteTable,
    el("h2", {}, "Runs"), trawl.table(["run", "site", "status", "stats"], runRows),
    el("h2", {}, `Alerts (${alerts.total})`), trawl.table(["time", "kind", "summary"], alertRows));
});
