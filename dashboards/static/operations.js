// Operations: sites with their last run and pause state, recent runs and alerts; an admin may start a
// crawl now, pause a site (with a reason, audited) or resume a paused one.
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
  // pause (a reason is required: it goes to the audit log) or resume; the page redraws from the API after
  const pauseControls = (site) => {
    const status = el("span", { class: "pause-status", "data-site": site.name });
    const act = async (action, body, button) => {
      button.disabled = true;
      try {
        await trawl.call(`/api/sites/${encodeURIComponent(site.name)}/${action}`, body);
        await trawl.rerender();
      } catch (error) {
        status.textContent = " " + error.message;
        button.disabled = false;
      }
    };
    if (site.paused) {
      const resume = el("button", { type: "button", class: "resume", "data-site": site.name,
        onclick: () => act("resume", { reason: "resumed from the operations page" }, resume) }, "resume");
      return [resume, status];
    }
    const reason = el("input", { type: "text", class: "pause-reason", "data-site": site.name, size: 18,
      maxlength: 500, placeholder: "reason", "aria-label": `reason to pause ${site.name}` });
    const pause = el("button", { type: "button", class: "pause", "data-site": site.name, onclick: () => {
      if (!reason.value.trim()) { status.textContent = " give a reason"; return; }
      act("pause", { reason: reason.value.trim() }, pause);
    } }, "pause");
    return [reason, pause, status];
  };
  const siteRows = sites.sites.map((s) => [s.name, s.origin, s.kind || "", s.network || "", s.render || "",
    s.last_run ? `${s.last_run.run_id} (${s.last_run.status})` : "never run", s.error || "",
    s.paused ? el("span", { class: "paused", "data-site": s.name }, s.paused) : "",
    trawl.isAdmin() && !s.error ? [runNow(s.name), " ", pauseControls(s)] : ""]);
  const paused = sites.sites.filter((s) => s.paused);
  const pausedList = paused.length
    ? el("ul", { id: "paused-sites" }, paused.map((s) => el("li", { "data-site": s.name }, `${s.name}: ${s.paused}`)))
    : el("p", { id: "paused-sites", class: "hint" }, "No site is paused.");
  const headline = (r) => Object.entries(r).filter(([k]) => !["run_id", "site", "status"].includes(k))
    .filter(([, v]) => typeof v === "number" || typeof v === "string").slice(0, 8).map(([k, v]) => `${k}: ${v}`)
    .join(", ");
  const runRows = runs.runs.map((r) => [r.run_id, r.site || "", r.status, headline(r)]);
  const alertRows = alerts.alerts.map((a) => [a.time, a.kind, a.summary]);
  const siteTable = trawl.table(["site", "origin", "kind", "network", "render", "last run", "problem", "paused", ""],
    siteRows);
  siteTable.id = "sites";
  trawl.show(el("h1", {}, "Operations"), el("h2", {}, "Paused sites (a gate waiting for a human, or an admin)"),
    pausedList, el("h2", {}, "Sites"), siteTable,
    el("h2", {}, "Runs"), trawl.table(["run", "site", "status", "stats"], runRows),
    el("h2", {}, `Alerts (${alerts.total})`), trawl.table(["time", "kind", "summary"], alertRows));
});
