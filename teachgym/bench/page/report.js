"use strict";
(function () {
  function cellValue(row, index, type) {
    var raw = row.cells[index].getAttribute("data-value");
    if (raw === null || raw === "") return null;
    return type === "number" ? parseFloat(raw) : raw;
  }
  function sortTable(table, key, direction) {
    var headers = table.tHead.rows[0].cells, index = -1, type = "text";
    for (var i = 0; i < headers.length; i++) {
      headers[i].removeAttribute("aria-sort");
      if (headers[i].getAttribute("data-sort") === key) {
        index = i;
        type = headers[i].getAttribute("data-type");
      }
    }
    if (index < 0) return false;
    headers[index].setAttribute("aria-sort", direction === "asc" ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var sign = direction === "asc" ? 1 : -1;
    rows.sort(function (a, b) {
      var x = cellValue(a, index, type), y = cellValue(b, index, type);
      if (x === null || y === null) return (x === null ? 1 : 0) - (y === null ? 1 : 0);
      if (x < y) return -sign;
      if (x > y) return sign;
      return 0;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    table.setAttribute("data-sorted", key + "-" + direction);
    describeOrder(table, headers[index], direction);
    return true;
  }
  // The caption says the order the rows are in now, in the words the column's header shows.
  function describeOrder(table, header, direction) {
    if (!table.caption) return;
    table.caption.textContent = "Sorted by " + header.textContent + ", " +
      header.getAttribute("data-" + direction) +
      " (rows without a value last; ties keep their previous order).";
  }
  function filterFamily(name) {
    var select = document.getElementById("family-filter");
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === name; });
    var family = known ? name : "all";
    select.value = family;
    document.querySelectorAll("[data-family]").forEach(function (element) {
      element.hidden = family !== "all" && element.getAttribute("data-family") !== family;
    });
  }
  function readHash() {
    var state = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var at = part.indexOf("=");
      if (at > 0) state[decodeURIComponent(part.slice(0, at))] = decodeURIComponent(part.slice(at + 1));
    });
    return state;
  }
  function writeHash() {
    var ranking = document.getElementById("ranking");
    var parts = ["sort=" + encodeURIComponent(ranking.getAttribute("data-sorted") || "score-desc")];
    var family = document.getElementById("family-filter").value;
    if (family !== "all") parts.push("family=" + encodeURIComponent(family));
    try { history.replaceState(null, "", "#" + parts.join("&")); } catch (error) { /* file: URLs */ }
  }
  function applyHash() {
    var state = readHash();
    if (state.sort) {
      var cut = state.sort.lastIndexOf("-");
      var direction = state.sort.slice(cut + 1);
      if (cut > 0 && (direction === "asc" || direction === "desc")) {
        sortTable(document.getElementById("ranking"), state.sort.slice(0, cut), direction);
      }
    }
    filterFamily(state.family || "all");
  }
  document.querySelectorAll("table.sortable th[data-sort]").forEach(function (header) {
    header.addEventListener("click", function () {
      var table = header.closest("table"), key = header.getAttribute("data-sort");
      var current = table.getAttribute("data-sorted");
      var first = header.getAttribute("data-type") === "number" ? "desc" : "asc";
      var direction = current === key + "-" + first ? (first === "asc" ? "desc" : "asc") : first;
      sortTable(table, key, direction);
      if (table.id === "ranking") writeHash();
    });
  });
  document.getElementById("family-filter").addEventListener("change", function (event) {
    filterFamily(event.target.value);
    writeHash();
  });
  window.addEventListener("hashchange", applyHash);
  applyHash();
})();
