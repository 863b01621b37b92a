// /public/766: sorting and search for the unit tables (progressive enhancement: without this
// script the tables are complete and readable, already ranked). Served from this site only
// (CSP script-src 'self'); no request, no storage, no inline code.
(function () {
  "use strict";
  var vi = (document.documentElement.getAttribute("lang") || "vi") === "vi";

  function value(cell) {
    var text = (cell.textContent || "").trim();
    var head = text.replace(/\s*%$/, "");
    var number = vi ? head.replace(/\./g, "").replace(",", ".") : head.replace(/,/g, "");
    if (/^-?[0-9]+(\.[0-9]+)?$/.test(number)) { return { n: parseFloat(number), t: text }; }
    if (text === "\u2014") { return { n: -Infinity, t: text }; }
    return { n: null, t: text.toLocaleLowerCase() };
  }

  function sortBy(table, index, button) {
    var th = button.parentNode;
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var headers = table.tHead.rows[0].cells;
    for (var i = 0; i < headers.length; i++) { headers[i].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a.cells[index]), y = value(b.cells[index]);
      var order = (x.n !== null && y.n !== null) ? x.n - y.n : x.t.localeCompare(y.t, vi ? "vi" : "en");
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function sortable(table) {
    var headers = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headers, function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sorter";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () { sortBy(table, index, button); });
    });
  }

  function searchable(table, n) {
    var box = document.createElement("div");
    box.className = "finder";
    var id = "find-" + n;
    var label = document.createElement("label");
    label.setAttribute("for", id);
    label.textContent = table.getAttribute("data-search");
    var input = document.createElement("input");
    input.type = "search";
    input.id = id;
    input.setAttribute("autocomplete", "off");
    var status = document.createElement("span");
    status.setAttribute("role", "status");
    var template = table.getAttribute("data-shown") || "{n}/{total}";
    var rows = table.tBodies[0].rows;
    input.addEventListener("input", function () {
      var words = input.value.trim().toLocaleLowerCase();
      var shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var hit = !words || rows[i].cells[1].textContent.toLocaleLowerCase().indexOf(words) >= 0;
        rows[i].hidden = !hit;
        if (hit) { shown++; }
      }
      status.textContent = words ? template.replace("{n}", shown).replace("{total}", rows.length) : "";
    });
    box.appendChild(label);
    box.appendChild(input);
    box.appendChild(status);
    var region = table.parentNode;
    region.parentNode.insertBefore(box, region);
  }

  function start() {
    var tables = document.querySelectorAll("table[data-sort]");
    for (var i = 0; i < tables.length; i++) {
      sortable(tables[i]);
      if (tables[i].hasAttribute("data-search")) { searchable(tables[i], i); }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
