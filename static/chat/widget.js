// The embeddable chat widget: <script src="https://support.example/chat/widget.js" data-widget="KEY" async></script>
// It adds a launcher button and an iframe served from the support site (the chat itself runs
// there: its token never touches the host page). postMessage API for the host page:
//   window.SupportChat.open(), .close(), .identify({name, email})
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.SupportChat) return;
  var key = script.getAttribute("data-widget");
  var origin = new URL(script.src).origin;
  var frame = null;
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = script.getAttribute("data-label") || "Chat with us";
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("data-support-chat", "launcher");
  button.style.cssText =
    "position:fixed;right:20px;bottom:20px;z-index:2147483000;padding:12px 18px;border:0;" +
    "border-radius:24px;background:#1f4fd1;color:#fff;font:600 15px/1 system-ui,sans-serif;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.25);cursor:pointer";

  function ensureFrame() {
    if (frame) return frame;
    frame = document.createElement("iframe");
    frame.src = origin + "/chat/frame/" + encodeURIComponent(key) + "/";
    frame.title = "Chat with support";
    frame.setAttribute("data-support-chat", "frame");
    frame.style.cssText =
      "position:fixed;right:20px;bottom:76px;z-index:2147483000;width:360px;height:520px;" +
      "max-width:calc(100vw - 40px);max-height:calc(100vh - 96px);border:1px solid #d5dae1;" +
      "border-radius:12px;background:#fff;box-shadow:0 8px 30px rgba(0,0,0,.2);display:none";
    document.body.appendChild(frame);
    return frame;
  }

  function post(message) {
    ensureFrame().contentWindow && frame.contentWindow.postMessage(message, origin);
  }

  var api = {
    open: function () {
      ensureFrame().style.display = "block";
      button.setAttribute("aria-expanded", "true");
    },
    close: function () {
      if (frame) frame.style.display = "none";
      button.setAttribute("aria-expanded", "false");
    },
    toggle: function () {
      if (frame && frame.style.display === "block") api.close();
      else api.open();
    },
    identify: function (who) {
      ensureFrame().addEventListener("load", function () { post({ type: "identify", who: who }); });
      post({ type: "identify", who: who });
    },
  };
  button.addEventListener("click", api.toggle);
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !event.data) return;
    if (event.data.type === "close") api.close();
  });
  window.SupportChat = api;
  if (document.body) document.body.appendChild(button);
  else document.addEventListener("DOMContentLoaded", function () { document.body.appendChild(button); });
})();
