// Shared by every page: the token (sessionStorage, sent only as a Bearer header), API calls,
// and building DOM from data.  Crawled values only ever reach the page as text nodes.
"use strict";

const trawl = (() => {
  const KEY = "trawl.token";

  // "#token=..." (a link the admin hands out): keep it in this tab, then drop it from the address bar
  function takeTokenFromFragment() {
    const found = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (found) {
      sessionStorage.setItem(KEY, decodeURIComponent(found[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
  }

  const token = () => sessionStorage.getItem(KEY);

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  let role = "";

  // body: a JSON value to POST (admin actions); the token travels only in the Authorization header
  async function call(path, body) {
    const headers = { Authorization: "Bearer " + token() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method: body === undefined ? "GET" : "POST", body: body === undefined ? undefined : JSON.stringify(body),
      headers, credentials: "omit", cache: "no-store", redirect: "error",
    });
    if (response.status === 401) {
      sessionStorage.removeItem(KEY);
      showLogin("The token was not accepted.");
      throw new ApiError(401, "token not accepted");
    }
    if (!response.ok) {
      let detail = response.statusText;
      try {
        const body = await response.json();
        detail = Array.isArray(body.detail) ? body.detail.map((d) => d.msg).join("; ") : String(body.detail);
      } catch (_) { /* not JSON: keep the status text */ }
      throw new ApiError(response.status, detail);
    }
    return response;
  }

  const json = async (path) => (await call(path)).json();

  // el("a", {href: "..."}, "text", child): attributes set one by one, children as text or nodes
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function table(headings, rows) {
    return el("table", {}, el("thead", {}, el("tr", {}, headings.map((h) => el("th", {}, h)))),
      el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c))))));
  }

  function fields(pairs) {  // [label, value] pairs as a definition list, empty values left out
    return el("dl", { class: "fields" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
      .map(([label, value]) => [el("dt", {}, label), el("dd", {}, value)]));
  }

  const money = (v) => (v === null || v === undefined ? "" : "$" + Number(v).toFixed(2));
  const day = (iso) => (iso ? String(iso).slice(0, 10) : "");
  const ppu = (x) => (x.usd_per_unit === null || x.usd_per_unit === undefined ? ""
    : money(x.usd_per_unit) + "/" + (x.quantity_unit || "unit"));
  const params = () => new URLSearchParams(location.search);
  const pageUrl = (page, query) => "/ui/" + page + "?" + new URLSearchParams(query).toString();
  const listingLink = (id, text) => el("a", { href: pageUrl("listing", { id }), class: "listing-link" }, text);
  const vendorLink = (name) => (name ? el("a", { href: pageUrl("vendor", { name }), class: "vendor-link" }, name) : "");

  const content = () => document.getElementById("content");

  function show(...nodes) { content().replaceChildren(...nodes.filter((n) => n !== null && n !== undefined)); }

  function showError(error) {
    if (error instanceof ApiError && error.status === 401) return;
    show(el("p", { class: "error", role: "alert" }, "Error: " + (error.message || error)));
  }

  let renderPage = async () => {};

  function showLogin(message) {
    const form = document.getElementById("login");
    form.hidden = false;
    document.getElementById("login-error").textContent = message || "";
    document.getElementById("forget").hidden = true;
    content().replaceChildren();
    document.getElementById("token").focus();
  }

  async function run() {
    document.getElementById("login").hidden = true;
    try {
      const who = await json("/api/whoami");
      role = who.role;
      document.getElementById("who").textContent = who.role === "admin" ? "admin" : "analyst";
      document.getElementById("forget").hidden = false;
      show(el("p", { class: "loading" }, "Loading…"));
      await renderPage();
      document.body.dataset.ready = "yes";  // tests and screenshots wait for this
    } catch (error) {
      showError(error);
      document.body.dataset.ready = "error";
    }
  }

  // draw the page again from the API (after an admin action changed what it shows)
  async function rerender() {
    await renderPage();
    document.body.dataset.drawn = String(Number(document.body.dataset.drawn || "0") + 1);
  }

  function start(render) {
    renderPage = render;
    takeTokenFromFragment();
    document.getElementById("login").addEventListener("submit", (event) => {
      event.preventDefault();
      const typed = document.getElementById("token").value.trim();
      if (!typed) return;
      sessionStorage.setItem(KEY, typed);
      document.getElementById("token").value = "";
      run();
    });
    document.getElementById("forget").addEventListener("click", () => {
      sessionStorage.removeItem(KEY);
      document.getElementById("who").textContent = "";
      showLogin("");
    });
    if (token()) run(); else showLogin("");
  }

  // a download needs the Bearer header too: fetch it, then hand the browser the bytes
  async function download(path, filename) {
    const blob = await (await call(path)).blob();
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: filename });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function downloadButtons(kind, query) {  // CSV / Parquet / JSONL, each zipped with its export sidecar
    return el("p", { class: "downloads" }, "download (zip with the export sidecar): ",
      ["csv", "parquet", "jsonl"].map((fmt) => {
      const asked = new URLSearchParams(query);
      asked.set("format", fmt);
      for (const name of ["limit", "offset", "facets", "facet_size"]) asked.delete(name);  // an export is every match
      return [el("button", { type: "button", class: "download", "data-format": fmt, onclick: () =>
        download(`/api/export/${kind}?` + asked.toString(), `trawl-${kind}-${fmt}.zip`).catch(showError) }, fmt), " "];
    }));
  }

  const isAdmin = () => role === "admin";

  return { start, rerender, download, downloadButtons, isAdmin, call, json, el, table, fields, money, day, ppu, params, pageUrl, listingLink, vendorLink, show,
    content, ApiError };
})();
