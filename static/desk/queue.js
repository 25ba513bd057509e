// The queue, progressively enhanced: "/" focuses the search, j/k move between tickets, x ticks
// one, Enter opens it, "?" lists the keys. The bulk bar shows only the fields its action needs.
(function () {
  "use strict";
  var NEEDS = { assign: "agent", status: "status", priority: "priority", tag: "tag" };
  var bulk = document.getElementById("bulk");
  if (bulk) {
    var action = bulk.querySelector("select[name=action]");
    var update = function () {
      ["agent", "status", "priority", "tag"].forEach(function (name) {
        var field = bulk.querySelector("[name=" + name + "]");
        if (field) field.hidden = NEEDS[action.value] !== name;
      });
      var confirm = bulk.querySelector(".confirm-inline");
      if (confirm) confirm.hidden = !(action.value === "merge" || action.value === "status");
    };
    action.addEventListener("change", update);
    update();
  }

  var current = -1;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("table.queue tbody tr")); }
  function focusRow(index) {
    var all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row, i) { row.classList.toggle("focused", i === current); });
    var link = all[current].querySelector("a");
    if (link) link.focus();
  }
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "/") { event.preventDefault(); var q = document.getElementById("q"); if (q) q.focus(); }
    else if (event.key === "j") { focusRow(current + 1); }
    else if (event.key === "k") { focusRow(current - 1); }
    else if (event.key === "x" && current >= 0) { var box = rows()[current].querySelector("input[type=checkbox]"); if (box) box.checked = !box.checked; }
    else if (event.key === "?") { var help = document.getElementById("shortcuts"); if (help && help.showModal) help.showModal(); }
  });
})();
