// The class report's sortable tables (mnistlib.grading.report inlines this file into the page).
// Each column heading of a table.sortable gets a button (a click, Enter or Space sorts by that
// column; again, the other way round) and the sorted heading gets aria-sort. Progressive
// enhancement: without this script the tables read the same, in the order the grader wrote them.
(function () {
  "use strict";
  // "learner 2" before "learner 10"
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

  // A cell's sort key: a number in a numeric column ("1.5 / 2", "312 MB"), else its text;
  // null when a numeric cell holds none ("not graded", "–"): those rows go last either way.
  function key(cell, numeric) {
    var text = cell.textContent.trim();
    if (!numeric) return text;
    var number = parseFloat(text);
    return isNaN(number) ? null : number;
  }

  function sortBy(table, heading) {
    var row = heading.parentNode;
    var column = Array.prototype.indexOf.call(row.cells, heading);
    var numeric = heading.classList.contains("num");
    var ascending = heading.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var keyed = Array.prototype.map.call(body.rows, function (tr, i) {
      return { tr: tr, key: key(tr.cells[column], numeric), i: i };
    });
    keyed.sort(function (a, b) {
      if (a.key === null || b.key === null) {
        return (a.key === null) - (b.key === null) || a.i - b.i;
      }
      var order = numeric ? a.key - b.key : collator.compare(a.key, b.key);
      return (ascending ? order : -order) || a.i - b.i;
    });
    keyed.forEach(function (k) {
      body.appendChild(k.tr);
    });
    Array.prototype.forEach.call(row.cells, function (th) {
      th.removeAttribute("aria-sort");
    });
    heading.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (heading) {
      var button = document.createElement("button");
      button.type = "button";
      while (heading.firstChild) button.appendChild(heading.firstChild);
      heading.appendChild(button);
      button.addEventListener("click", function () {
        sortBy(table, heading);
      });
    });
  });
})();
