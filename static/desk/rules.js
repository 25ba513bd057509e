// The rules editor: when a row's field or action changes, narrow its operators to the ones the
// field takes and show what its value box expects (the server checks the same on save).
(function () {
  "use strict";
  var labels = document.getElementById("rule-op-labels");

  function narrowOperators(row, ops) {
    var select = row.querySelector("[data-rule-op]");
    if (!select || !labels) return;
    var current = select.value;
    var allowed = ops ? ops.split(",") : null;
    select.textContent = "";
    Array.prototype.forEach.call(labels.content.children, function (option) {
      if (!allowed || allowed.indexOf(option.value) !== -1) {
        select.appendChild(option.cloneNode(true));
      }
    });
    if (current && (!allowed || allowed.indexOf(current) !== -1)) select.value = current;
  }

  function describeValue(row, option) {
    var input = row.querySelector("[data-rule-value]");
    if (!input) return;
    input.placeholder = option.dataset.hint || "";
    if (option.dataset.list) input.setAttribute("list", "values-" + option.dataset.list);
    else input.removeAttribute("list");
  }

  document.addEventListener("change", function (event) {
    var select = event.target.closest("[data-rule-field]");
    if (!select) return;
    var row = select.closest("tr");
    var option = select.selectedOptions[0];
    if (!row || !option) return;
    if (row.querySelector("[data-rule-op]")) narrowOperators(row, option.dataset.ops);
    describeValue(row, option);
  });
})();
