// The chat inside the widget's iframe (served from the support site). The database is the
// record: every message has the session's sequence number; this page keeps the last one it saw,
// says it when it (re)connects, and shows each number once, in order. Sends carry a client id,
// so a send retried after a cut connection is stored once.
(function () {
  "use strict";
  var body = document.body;
  var KEY = body.dataset.widget;
  var API = "/api/v1/chat/";
  var WS_ORIGIN = body.dataset.wsOrigin || (location.protocol === "https:" ? "wss://" : "ws://") + location.host;
  var STORE = "support-chat:" + KEY;
  var $ = function (id) { return document.getElementById(id); };
  // Where third-party storage is blocked the chat lives in memory (a reload starts anew).
  var storage = (function () { try { window.sessionStorage.getItem(STORE); return window.sessionStorage; } catch (e) { return null; } })();
  var state = storage ? JSON.parse(storage.getItem(STORE) || "null") : null; // {id, token}
  var lastSeq = 0, shown = {}, pending = {}, socket = null, attempts = 0, failures = 0;
  var pingTimer = null, typingTimer = null, typingSentAt = 0, theirTypingTimer = null, polling = false;

  function show(view) {
    ["view-start", "view-offline", "view-chat", "view-rate"].forEach(function (id) { $(id).hidden = id !== view; });
  }
  function status(text) { $("chat-status").textContent = text; }
  function save() {
    if (!storage) return;
    if (state) storage.setItem(STORE, JSON.stringify(state)); else storage.removeItem(STORE);
  }
  function headers(extra) {
    var h = { "Content-Type": "application/json", "X-CSRFToken": body.dataset.csrf };
    if (state) h["X-Chat-Token"] = state.token;
    return Object.assign(h, extra || {});
  }
  function call(method, path, data) {
    return fetch(API + path, { method: method, headers: headers(), credentials: "same-origin", body: data ? JSON.stringify(data) : undefined })
      .then(function (r) { return r.json().catch(function () { return {}; }).then(function (j) { j._status = r.status; return j; }); });
  }
  function clientId() {
    return (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : "c-" + Date.now() + "-" + Math.random().toString(16).slice(2);
  }

  // --- messages -------------------------------------------------------------------------
  function render(m) {
    if (m.seq && shown[m.seq]) return;
    var li = (m.client_msg_id && pending[m.client_msg_id]) || document.createElement("li");
    delete pending[m.client_msg_id];
    li.className = m.sender_type === "system" ? "system" : (m.sender_type === "customer" ? "mine" : (m.sender_type === "ai_bot" ? "theirs bot" : "theirs"));
    li.textContent = "";
    var author = m.author || m.author_name;
    if ((m.sender_type === "agent" || m.sender_type === "ai_bot") && author) {
      var who = document.createElement("span"); who.className = "who"; who.textContent = author; li.appendChild(who);
    }
    appendLinked(li, m.body);
    if (m.seq) {
      shown[m.seq] = true;
      li.dataset.seq = m.seq;
      lastSeq = Math.max(lastSeq, m.seq);
    }
    // In sequence order, whatever order frames arrived in; unsent ones stay last.
    var list = $("messages"), before = null;
    if (li.parentNode === list) list.removeChild(li);
    for (var i = 0; m.seq && i < list.children.length; i++) {
      var other = list.children[i];
      if (!other.dataset.seq || Number(other.dataset.seq) > m.seq) { before = other; break; }
    }
    list.insertBefore(li, before);
    list.scrollTop = list.scrollHeight;
    if (m.sender_type === "agent") theirTyping(false);
  }

  // Text with its web addresses as links (opened in a new tab: the widget lives in a frame).
  function appendLinked(parent, text) {
    var pattern = /https?:\/\/[^\s<>"]+[^\s<>".,;:!?)]/g, at = 0, match;
    while ((match = pattern.exec(text)) !== null) {
      parent.appendChild(document.createTextNode(text.slice(at, match.index)));
      var a = document.createElement("a");
      a.href = match[0]; a.textContent = match[0]; a.target = "_blank"; a.rel = "noopener noreferrer";
      parent.appendChild(a);
      at = match.index + match[0].length;
    }
    parent.appendChild(document.createTextNode(text.slice(at)));
  }

  function send(text) {
    var id = clientId();
    var li = document.createElement("li");
    li.className = "mine pending"; li.textContent = text; li.dataset.clientId = id; li.dataset.body = text;
    pending[id] = li; $("messages").appendChild(li);
    deliver(id, text);
  }
  function deliver(id, text) {
    if (socket && socket.readyState === 1 && socket.authed) {
      socket.send(JSON.stringify({ type: "message", client_msg_id: id, body: text }));
    } else if (polling) {
      call("POST", "sessions/" + state.id + "/messages/", { client_msg_id: id, body: text }).then(function (m) { if (m.seq) ack(m); });
    } // else: resent from `pending` when the socket is back (same id: stored once)
  }
  function ack(frame) {
    var li = pending[frame.client_msg_id];
    if (li) { li.classList.remove("pending"); li.dataset.seq = frame.seq; }
  }
  function resendPending() {
    Object.keys(pending).forEach(function (id) { deliver(id, pending[id].dataset.body); });
  }

  // --- the socket ------------------------------------------------------------------------
  function connect(ticket) {
    if (!("WebSocket" in window) || failures >= 3) { return poll(); }
    socket = new WebSocket(WS_ORIGIN + "/ws/chat/sessions/" + state.id + "/");
    var current = socket;
    socket.onopen = function () { current.send(JSON.stringify({ type: "auth", ticket: ticket, last_seq: lastSeq })); };
    socket.onmessage = function (event) { onFrame(current, JSON.parse(event.data)); };
    socket.onclose = function (event) {
      clearInterval(pingTimer);
      if (current !== socket) return;
      socket = null;
      if (event.code === 4404) { state = null; save(); return boot(); }
      if (!current.authed) failures++;
      status("Reconnecting…");
      // Full jitter, 0.5 s doubling to 30 s.
      var wait = Math.random() * Math.min(30000, 500 * Math.pow(2, attempts++));
      setTimeout(reconnect, wait);
    };
  }
  function reconnect() {
    if (!state) return;
    call("POST", "sessions/" + state.id + "/ws-ticket/").then(function (r) {
      if (r._status === 404) { state = null; save(); return boot(); }
      if (r.ws_ticket) connect(r.ws_ticket); else setTimeout(reconnect, 2000);
    }).catch(function () { setTimeout(reconnect, 2000); });
  }
  function onFrame(sock, f) {
    if (f.type === "session") {
      if (!sock.authed) { sock.authed = true; attempts = 0; failures = 0; resendPending(); startPing(sock); }
      onSession(f);
    } else if (f.type === "message") render(f);
    else if (f.type === "ack") ack(f);
    else if (f.type === "typing") theirTyping(f.on, f.who);
    else if (f.type === "presence") status(f.agent + ({ away: " is away for a moment", offline: " is offline; your message will still reach them" }[f.state] || " is here"));
    else if (f.type === "resync") page(f.from_seq);
    else if (f.type === "error" && f.code === "chat_ended") onSession({ status: "ended" });
  }
  function startPing(sock) {
    clearInterval(pingTimer);
    pingTimer = setInterval(function () { if (sock.readyState === 1) sock.send(JSON.stringify({ type: "ping", last_seq: lastSeq })); }, 20000);
  }
  function page(after) {
    call("GET", "sessions/" + state.id + "/messages/?after_seq=" + after).then(function (r) {
      (r.results || []).forEach(render);
      if (r.has_more && r.results.length) page(r.results[r.results.length - 1].seq);
    });
  }
  function onSession(f) {
    $("chat-leave-message-row").hidden = !(f.status === "queued" && f.offer_message_form);
    $("chat-person").hidden = !(f.status === "queued" && f.bot);
    if (f.status === "queued" && f.bot) status("The assistant is here");
    else if (f.status === "queued") status(f.queue_position ? "Waiting: you are number " + f.queue_position : "Waiting for an agent…");
    else if (f.status === "active") status(f.agent ? "Chatting with " + f.agent : "Connected");
    else if (f.status === "ended" || f.status === "archived" || f.status === "transferred") {
      status(f.ticket ? "Continued as ticket " + f.ticket : "Chat ended");
      if (!$("view-rate").dataset.done) show("view-rate");
      if (socket) { var s = socket; socket = null; s.close(); }
      polling = false;
    }
  }

  // Long polling, where sockets are blocked: the same messages, through the same services.
  function poll() {
    polling = true; status("Connected (slow mode)"); resendPending();
    (function loop() {
      if (!polling || !state) return;
      fetch("/chat/sessions/" + state.id + "/poll/?wait=25&after_seq=" + lastSeq, { headers: headers(), credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (r) { (r.results || []).forEach(render); if (r.session) onSession(r.session); loop(); })
        .catch(function () { setTimeout(loop, 3000); });
    })();
  }

  // --- typing ---------------------------------------------------------------------------
  function typing(on) {
    if (!socket || socket.readyState !== 1 || !socket.authed) return;
    var now = Date.now();
    if (on && now - typingSentAt < 2000) return;
    typingSentAt = on ? now : 0;
    socket.send(JSON.stringify({ type: "typing", on: on }));
  }
  function theirTyping(on, who) {
    clearTimeout(theirTypingTimer);
    $("typing").hidden = !on;
    if (on) {
      $("typing").textContent = (who || "The agent") + " is typing…";
      theirTypingTimer = setTimeout(function () { $("typing").hidden = true; }, 6000);
    }
  }

  // --- the views ------------------------------------------------------------------------
  function formData(form) {
    var data = {};
    new FormData(form).forEach(function (v, k) { data[k] = v; });
    return data;
  }
  function boot() {
    if (state) {
      show("view-chat");
      return call("GET", "sessions/" + state.id + "/").then(function (s) {
        if (s._status !== 200) { state = null; save(); return boot(); }
        onSession({ status: s.status, queue_position: s.queue_position, agent: s.agent_name, ticket: s.ticket, bot: s.with_bot });
        if (s.status === "queued" || s.status === "active") reconnect();
      });
    }
    call("GET", "widgets/" + encodeURIComponent(KEY) + "/status/").then(function (w) {
      // Said before the visitor types: busy or offline offers the message form.
      if (w.status === "online") { show("view-start"); status("We are online"); }
      else {
        show("view-offline");
        status(w.status === "busy" ? "All agents are busy" : "Offline");
        if (w.status === "busy") $("offline-reason").textContent = "All our agents are busy. Leave a message and we will answer by e-mail.";
      }
    });
  }

  $("start-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var data = formData(event.target); data.widget = KEY; data.page_url = document.referrer || "";
    call("POST", "sessions/", data).then(function (r) {
      if (r._status === 409) { show("view-offline"); status("Offline"); return; }
      if (r._status !== 201) { status(r.detail || "Could not start the chat"); return; }
      state = { id: r.session.id, token: r.resume_token }; save();
      show("view-chat"); onSession({ status: r.session.status, queue_position: r.session.queue_position, agent: r.session.agent_name, bot: r.session.with_bot });
      connect(r.ws_ticket);
      $("composer-body").focus();
    });
  });
  $("offline-form").addEventListener("submit", function (event) {
    event.preventDefault();
    call("POST", "widgets/" + encodeURIComponent(KEY) + "/offline-message/", formData(event.target)).then(function (r) {
      if (r._status !== 201) { $("offline-done").textContent = r.detail || "Could not send"; $("offline-done").hidden = false; return; }
      event.target.hidden = true;
      $("offline-done").textContent = "Thank you! We have your message (" + r.ticket + ") and will answer by e-mail.";
      $("offline-done").hidden = false;
    });
  });
  $("composer").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("composer-body").value.trim();
    if (!text) return;
    $("composer-body").value = "";
    clearTimeout(typingTimer); typing(false);
    send(text);
  });
  $("composer-body").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("composer").requestSubmit(); }
  });
  $("composer-body").addEventListener("input", function () {
    typing(true);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typing(false); }, 3000);
  });
  $("chat-end").addEventListener("click", function () {
    call("POST", "sessions/" + state.id + "/end/").then(function (s) { onSession({ status: s.status }); });
  });
  $("chat-leave-message").addEventListener("click", function () {
    // Waited too long: end the wait and leave a message instead.
    call("POST", "sessions/" + state.id + "/end/").then(function () {
      if (socket) { var s = socket; socket = null; s.close(); }
      state = null; save(); show("view-offline"); status("Leave us a message");
    });
  });
  $("chat-person").addEventListener("click", function () {
    $("chat-person").hidden = true;
    call("POST", "sessions/" + state.id + "/handoff/").then(function (s) {
      if (s._status === 200) onSession({ status: s.status, queue_position: s.queue_position, agent: s.agent_name, bot: s.with_bot });
    });
  });
  $("chat-transcript").addEventListener("click", function () {
    fetch("/chat/sessions/" + state.id + "/transcript.txt", { headers: headers(), credentials: "same-origin" })
      .then(function (r) { return r.blob(); })
      .then(function (blob) {
        var a = document.createElement("a"); a.href = URL.createObjectURL(blob); a.download = "chat-transcript.txt"; a.click();
      });
  });
  document.querySelectorAll(".star").forEach(function (star) {
    star.addEventListener("click", function () {
      var rating = Number(star.dataset.rating);
      call("POST", "sessions/" + state.id + "/rate/", { rating: rating }).then(function () {
        document.querySelectorAll(".star").forEach(function (s) { s.classList.toggle("on", Number(s.dataset.rating) <= rating); });
        $("rate-done").hidden = false; $("view-rate").dataset.done = "1";
      });
    });
  });
  $("chat-close").addEventListener("click", function () { parent.postMessage({ type: "close" }, "*"); });
  window.addEventListener("message", function (event) {
    if (event.data && event.data.type === "identify" && event.data.who) {
      document.querySelectorAll("input[name=visitor_name]").forEach(function (i) { if (!i.value) i.value = event.data.who.name || ""; });
      document.querySelectorAll("input[name=visitor_email]").forEach(function (i) { if (!i.value) i.value = event.data.who.email || ""; });
    }
  });
  boot();
})();
