// Knowledge base helpers on the desk ticket page: copy an article's link, or put it in the
// reply being written. A static file: the Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  function composer() {
    return document.getElementById("id_body");
  }

  function say(button, text) {
    var label = button.dataset.kbLabel || button.textContent;
    button.dataset.kbLabel = label;
    button.textContent = text;
    window.setTimeout(function () { button.textContent = label; }, 1500);
  }

  function copyWithSelection(text) {
    var field = document.createElement("textarea");
    field.value = text;
    field.setAttribute("readonly", "");
    field.className = "visually-hidden";
    document.body.appendChild(field);
    field.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
    document.body.removeChild(field);
    return copied;
  }

  function copy(button) {
    var url = button.dataset.kbCopy;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(url).then(
        function () { say(button, "Copied"); },
        function () { say(button, copyWithSelection(url) ? "Copied" : "Copy failed"); }
      );
    } else {
      say(button, copyWithSelection(url) ? "Copied" : "Copy failed");
    }
  }

  function insert(button) {
    var body = composer();
    if (!body) { return; }
    var text = button.dataset.kbTitle + ": " + button.dataset.kbInsert;
    var start = body.selectionStart, end = body.selectionEnd;
    var before = body.value.slice(0, start), after = body.value.slice(end);
    var gap = before && !/\s$/.test(before) ? "\n" : "";
    body.value = before + gap + text + after;
    var caret = (before + gap + text).length;
    body.focus();
    body.setSelectionRange(caret, caret);
    say(button, "Inserted");
  }

  function ready() {
    if (composer()) {
      document.querySelectorAll("[data-kb-insert]").forEach(function (b) { b.hidden = false; });
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-kb-copy], [data-kb-insert]");
    if (!button) { return; }
    event.preventDefault();
    if (button.dataset.kbCopy) { copy(button); } else { insert(button); }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
