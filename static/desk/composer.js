// The desk's ticket workspace, progressively enhanced: everything works without this script.
// Ctrl/Cmd+Enter sends; a template is inserted at the cursor; the "cannot be undone" box shows
// only for a final status; images open in a preview dialog.
(function () {
  "use strict";

  document.querySelectorAll("form[data-send-shortcut]").forEach(function (form) {
    form.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit(form.querySelector("button.primary[type=submit]"));
      }
    });
  });

  // Collision warnings: the page's presence report says "replying" while the composer has text.
  var body = document.getElementById("id_body");
  var presenceState = document.getElementById("presence-state");
  if (body && presenceState) {
    var mark = function () { presenceState.value = body.value.trim() ? "replying" : "viewing"; };
    body.addEventListener("input", mark);
    mark();
  }

  var picker = document.getElementById("template-pick");
  if (picker) {
    picker.addEventListener("change", function () {
      if (!picker.value) return;
      var url = picker.dataset.templateUrl + "?template=" + encodeURIComponent(picker.value);
      fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error(response.statusText);
          return response.text();
        })
        .then(function (text) {
          var body = document.getElementById("id_body");
          var start = body.selectionStart, end = body.selectionEnd;
          body.value = body.value.slice(0, start) + text + body.value.slice(end);
          body.focus();
          body.selectionStart = body.selectionEnd = start + text.length;
          picker.value = "";
        })
        .catch(function () { picker.setCustomValidity("The template could not be loaded."); picker.reportValidity(); });
    });
  }

  document.querySelectorAll("form[data-final-statuses]").forEach(function (form) {
    var finals = form.dataset.finalStatuses.split(" ");
    var select = form.querySelector("select[name=status]");
    var confirm = form.querySelector(".confirm");
    if (!select || !confirm) return;
    var update = function () { confirm.hidden = finals.indexOf(select.value) === -1; };
    select.addEventListener("change", update);
    update();
  });

  document.querySelectorAll("form").forEach(function (form) {
    var action = form.querySelector("select[name=action]");
    var confirm = form.querySelector(".confirm");
    if (!action || !confirm || !action.querySelector("option[value=merge]")) return;
    var update = function () { confirm.hidden = action.value !== "merge"; };
    action.addEventListener("change", update);
    update();
  });

  var dialog = document.getElementById("file-preview");
  if (dialog && dialog.showModal) {
    document.querySelectorAll("a[data-preview^='image/']").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        var image = dialog.querySelector("img");
        image.src = link.href;
        image.alt = link.textContent;
        dialog.showModal();
      });
    });
  }
})();
