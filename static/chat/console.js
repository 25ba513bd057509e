// The agent's chat console. One desk socket (/ws/desk/, the session cookie) carries the queue's
// changes and the frames of the open chat; the lists are re-read from the API when a chat's
// state changes. Messages are shown once each, in sequence order; a send carries a client id.
(function () {
  "use strict";
  var root = document.getElementById("chat-console");
  if (!root) return;
  var $ = function (id) { return document.getElementById(id); };
  var WS_ORIGIN = root.dataset.wsOrigin || (location.protocol === "https:" ? "wss://" : "ws://") + location.host;
  var API = "/api/v1/chat/sessions/";
  var socket = null, attempts = 0, current = null, lastSeq = 0, shown = {}, pingTimer = null;
  var typingSentAt = 0, typingTimer = null, theirTypingTimer = null;

  function call(method, path, data) {
    return fetch(API + path, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
      body: data ? JSON.stringify(data) : undefined,
    }).then(function (r) { return r.json().catch(function () { return {}; }).then(function (j) { j._status = r.status; return j; }); });
  }
  function clientId() {
    return (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : "a-" + Date.now() + "-" + Math.random().toString(16).slice(2);
  }

  // --- lists ------------------------------------------------------------------------------
  function fill(list, sessions, empty) {
    list.textContent = "";
    if (!sessions.length) { var li = document.createElement("li"); li.className = "muted"; li.textContent = empty; list.appendChild(li); return; }
    sessions.forEach(function (s) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = "#" + s.id; a.dataset.chat = s.id; a.textContent = s.visitor_name || s.visitor_email;
      if (s.id === current) li.className = "current";
      li.appendChild(a);
      if (s.queue_position) { var n = document.createElement("span"); n.className = "muted"; n.textContent = " #" + s.queue_position; li.appendChild(n); }
      list.appendChild(li);
    });
  }
  function refreshLists() {
    call("GET", "?status=queued").then(function (r) { fill($("chat-waiting"), r.results || [], "Nobody is waiting."); $("waiting-count").textContent = (r.results || []).length; });
    call("GET", "?status=active&mine=true").then(function (r) { fill($("chat-mine"), r.results || [], "No chats."); });
  }
  root.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-chat]");
    if (link) { event.preventDefault(); open(link.dataset.chat); }
  });

  // --- the open chat ----------------------------------------------------------------------
  function open(id) {
    if (current && socket && socket.readyState === 1) socket.send(JSON.stringify({ type: "unsubscribe", session_id: current }));
    current = id; lastSeq = 0; shown = {};
    location.hash = id;
    $("chat-messages").textContent = "";
    $("chat-pane").hidden = false;
    $("chat-transcript").href = "/chat/sessions/" + id + "/transcript.html";
    subscribe();
    fetch("/desk/chats/" + id + "/customer/", { credentials: "same-origin" })
      .then(function (r) { return r.text(); }).then(function (html) { $("chat-customer").innerHTML = html; });
    refreshLists();
  }
  function subscribe() {
    if (current && socket && socket.readyState === 1) socket.send(JSON.stringify({ type: "subscribe", session_id: current, last_seq: lastSeq }));
  }
  function render(m) {
    if (m.session_id !== current || shown[m.seq]) return;
    shown[m.seq] = true; lastSeq = Math.max(lastSeq, m.seq);
    var li = document.createElement("li");
    li.className = m.sender_type === "system" ? "system" : m.internal ? "whisper" : m.sender_type === "customer" ? "customer" : "agent";
    li.dataset.seq = m.seq;
    if (m.sender_type !== "system") {
      var who = document.createElement("span"); who.className = "who";
      who.textContent = (m.author || "Visitor") + (m.internal ? " · whisper" : "");
      li.appendChild(who);
    }
    li.appendChild(document.createTextNode(m.body));
    var list = $("chat-messages"), before = null;
    for (var i = 0; i < list.children.length; i++) {
      if (Number(list.children[i].dataset.seq) > m.seq) { before = list.children[i]; break; }
    }
    list.insertBefore(li, before);
    list.scrollTop = list.scrollHeight;
    if (m.sender_type === "customer") theirTyping(false);
  }
  function onState(f) {
    if (f.session_id !== current) return;
    $("chat-title").textContent = f.visitor || $("chat-title").textContent || "Chat";
    var text = { queued: "Waiting" + (f.queue_position ? " (#" + f.queue_position + ")" : ""), active: "With " + (f.agent || "nobody"),
      ended: "Ended", archived: "Archived", transferred: "Transferred" }[f.status] || f.status;
    $("chat-state").textContent = text + (f.ticket ? " · ticket " + f.ticket : "");
    $("chat-accept").hidden = f.status !== "queued";
    var open = f.status === "queued" || f.status === "active";
    $("chat-composer").hidden = !open; $("chat-end").hidden = !open; $("chat-transfer").hidden = !open;
  }
  var STATUS = { available: "Available", away: "Away", offline: "Offline" };
  function onPresence(f) {
    // An agent's availability or chat settings changed (desk frames carry agent_id).
    var list = $("chat-agents"), li = list.querySelector('li[data-agent="' + f.agent_id + '"]');
    if (!li) {
      var empty = list.querySelector("li.muted"); if (empty) empty.remove();
      li = document.createElement("li"); li.dataset.agent = f.agent_id;
      var who = document.createElement("span"); who.className = "who"; who.textContent = f.agent;
      var state = document.createElement("span"); state.className = "muted"; state.dataset.presence = "";
      li.appendChild(who); li.appendChild(document.createTextNode(" ")); li.appendChild(state);
      list.appendChild(li);
    }
    li.querySelector("[data-presence]").textContent = (STATUS[f.status] || f.status) + (f.chat_enabled ? "" : " · no chats");
  }
  function theirTyping(on) {
    clearTimeout(theirTypingTimer);
    $("chat-typing").hidden = !on;
    if (on) { $("chat-typing").textContent = "The visitor is typing…"; theirTypingTimer = setTimeout(function () { $("chat-typing").hidden = true; }, 6000); }
  }

  // --- the socket -------------------------------------------------------------------------
  function connect() {
    socket = new WebSocket(WS_ORIGIN + "/ws/desk/");
    var mine = socket;
    socket.onopen = function () {
      attempts = 0; $("desk-socket-state").textContent = "Online";
      subscribe(); refreshLists();
      clearInterval(pingTimer);
      pingTimer = setInterval(function () { if (mine.readyState === 1) mine.send(JSON.stringify({ type: "ping", session_id: current, last_seq: lastSeq })); }, 20000);
    };
    socket.onmessage = function (event) {
      var f = JSON.parse(event.data);
      if (f.type === "message") render(f);
      else if (f.type === "session") { onState(f); refreshLists(); }
      else if (f.type === "typing" && f.session_id === current) theirTyping(f.on);
      else if (f.type === "presence" && f.agent_id) onPresence(f);
      else if (f.type === "error") $("chat-transfer-result").textContent = f.detail || f.code;
    };
    socket.onclose = function () {
      clearInterval(pingTimer);
      $("desk-socket-state").textContent = "Reconnecting…";
      setTimeout(connect, Math.random() * Math.min(30000, 500 * Math.pow(2, attempts++)));
    };
  }

  // --- actions ----------------------------------------------------------------------------
  $("chat-composer").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("chat-body").value.trim();
    if (!text || !current || !socket || socket.readyState !== 1) return;
    socket.send(JSON.stringify({ type: "message", session_id: current, client_msg_id: clientId(), body: text, internal: $("chat-whisper").checked }));
    if (!$("chat-whisper").checked) socket.send(JSON.stringify({ type: "typing", session_id: current, on: false }));
    $("chat-body").value = ""; typingSentAt = 0;
  });
  $("chat-body").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("chat-composer").requestSubmit(); }
  });
  $("chat-body").addEventListener("input", function () {
    if ($("chat-whisper").checked || !socket || socket.readyState !== 1) return;
    var now = Date.now();
    if (now - typingSentAt > 2000) { typingSentAt = now; socket.send(JSON.stringify({ type: "typing", session_id: current, on: true })); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typingSentAt = 0; socket.send(JSON.stringify({ type: "typing", session_id: current, on: false })); }, 3000);
  });
  $("chat-canned").addEventListener("change", function () {
    var option = this.selectedOptions[0];
    if (option && option.dataset.body) { $("chat-body").value += ($("chat-body").value ? "\n" : "") + option.dataset.body; $("chat-body").focus(); }
    this.value = "";
  });
  $("chat-accept").addEventListener("click", function () {
    if (socket && current) socket.send(JSON.stringify({ type: "accept", session_id: current }));
  });
  $("chat-end").addEventListener("click", function () { call("POST", current + "/end/").then(refreshLists); });
  $("chat-transfer").addEventListener("submit", function (event) {
    event.preventDefault();
    var to = $("chat-transfer-to").value.split(":"), body = { to: to[0] };
    if (to[0] === "agent") body.agent = Number(to[1]);
    if (to[0] === "team") body.team = Number(to[1]);
    call("POST", current + "/transfer/", body).then(function (r) {
      $("chat-transfer-result").textContent = r._status === 200 ? (r.ticket ? "Ticket " + r.ticket : "Transferred") : (r.detail || "Refused");
      refreshLists();
    });
  });

  connect();
  if (location.hash.length > 30) open(location.hash.slice(1));
})();
