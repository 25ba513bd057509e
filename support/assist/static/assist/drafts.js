// AI drafts on the ticket workspace: "Use in reply" copies the draft into the composer (at the
// end of what is there), then htmx records the decision. Without the script the draft page
// shows the text to copy.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-ai-use]");
    if (!button) return;
    var draft = document.getElementById("ai-draft-text");
    var body = document.getElementById("id_body");
    if (!draft || !body) return;
    body.value = body.value.trim() ? body.value.replace(/\s+$/, "") + "\n\n" + draft.value : draft.value;
    body.dispatchEvent(new Event("input", { bubbles: true }));
    body.focus();
  });
})();
