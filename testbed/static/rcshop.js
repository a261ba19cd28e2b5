// rcshop front end: renders the catalogue from the JSON API (no build step, no framework).
(function () {
  "use strict";
  var app = document.getElementById("app");
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function money(amount) { return "\u20ac" + amount.toFixed(2); }
  function getJSON(url, done) {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url);
    xhr.onload = function () {
      if (xhr.status === 200) { done(JSON.parse(xhr.responseText)); }
      else { app.textContent = "Error " + xhr.status + " loading catalogue"; }
    };
    xhr.send();
  }
  function renderList(data) {
    app.textContent = "";
    app.appendChild(el("h1", "page-title", "Research chemicals"));
    app.appendChild(el("p", "rate-note", "Prices in " + data.currency + ". 1 EUR = " + data.usd_rate.toFixed(2) + " USD"));
    var grid = el("div", "product-grid");
    data.products.forEach(function (p) {
      var card = el("div", "product-card");
      card.setAttribute("data-id", p.id);
      var link = el("a", "product-link");
      link.href = p.url;
      link.appendChild(el("h3", "product-name", p.name));
      card.appendChild(link);
      card.appendChild(el("span", "product-category", p.category));
      card.appendChild(el("span", "product-price", "from " + money(p.price_from)));
      grid.appendChild(card);
    });
    app.appendChild(grid);
  }
  function renderProduct(p) {
    app.textContent = "";
    document.title = p.name + " | RC Lab Supplies";
    var box = el("div", "product-detail");
    box.setAttribute("data-id", p.id);
    box.appendChild(el("h1", "product-title", p.name));
    box.appendChild(el("div", "product-price", money(p.price)));
    box.appendChild(el("p", "rate-note", "Prices in EUR. 1 EUR = " + p.usd_rate.toFixed(2) + " USD"));
    var table = el("table", "weight-tiers");
    p.tiers.forEach(function (t) {
      var row = el("tr", "tier");
      row.appendChild(el("td", "tier-weight", t.label));
      row.appendChild(el("td", "tier-price", money(t.price)));
      table.appendChild(row);
    });
    box.appendChild(table);
    var meta = el("ul", "product-meta");
    meta.appendChild(el("li", "ships-from", "Ships from: " + p.ships_from));
    meta.appendChild(el("li", "ships-to", "Ships to: " + p.ships_to));
    p.shipping.forEach(function (s) { meta.appendChild(el("li", "shipping-option", s)); });
    box.appendChild(meta);
    box.appendChild(el("p", "product-description", p.description));
    box.appendChild(el("p", "disclaimer", p.disclaimer));
    var form = el("form", "add-to-cart");
    form.method = "post";
    form.action = "/cart/add";
    var hidden = el("input");
    hidden.type = "hidden"; hidden.name = "product"; hidden.value = p.id;
    form.appendChild(hidden);
    var button = el("button", "buy", "Add to cart");
    form.appendChild(button);
    box.appendChild(form);
    app.appendChild(box);
  }
  var path = window.location.pathname;
  var match = path.match(/^\/product\/([a-z0-9-]+)$/);
  if (match) { getJSON("/api/products/" + match[1], renderProduct); }
  else { getJSON("/api/products", renderList); }
})();
