// Live emergency lists: the doctor's emergency queue and dashboard, and the hospital dashboard.
// Listens on /ws/emergencies/ (telehealth/consumers_emergencies.py). The socket only says that
// something changed (and how many emergencies wait); the page then fetches itself again and
// swaps in the fresh content of every element marked data-emergency-live (each needs an id), so
// what is shown always comes through the page's own access checks. Reconnects with backoff and
// stops for good when the server refuses the session (4401 / 4403).
(function () {
  "use strict";
  var regions = document.querySelectorAll("[data-emergency-live][id]");
  if (!regions.length || !("WebSocket" in window) || !window.fetch || !window.DOMParser) return;
  var first = regions[0];
  var status = document.getElementById("emergency-live-status");

  var MAX_DELAY_MS = 30000;
  var socket = null;
  var retryTimer = null;
  var attempt = 0;
  var stopped = false;
  var paused = false;
  var refreshing = false;
  var again = false;
  var shownCount = parseInt(first.dataset.emergencyCount || "", 10);

  function announce(count) {
    if (!status || typeof count !== "number") return;
    var template = count === 1 ? status.dataset.labelOne : status.dataset.labelMany;
    if (!template) return;
    status.textContent = template.replace("%(n)s", String(count));
  }

  function swap(doc) {
    var active = document.activeElement;
    var activeId = active && active.id;
    Array.prototype.forEach.call(document.querySelectorAll("[data-emergency-live][id]"), function (region) {
      var fresh = doc.getElementById(region.id);
      if (!fresh) return;
      region.innerHTML = fresh.innerHTML;
      region.dataset.emergencyCount = fresh.dataset.emergencyCount || "";
    });
    // Keep the keyboard where it was when the same control is still there.
    if (activeId && !document.body.contains(active)) {
      var again_ = document.getElementById(activeId);
      if (again_) again_.focus();
    }
  }

  function refresh(count) {
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(window.location.href, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        swap(new DOMParser().parseFromString(html, "text/html"));
        if (typeof count === "number") { shownCount = count; announce(count); }
      })
      .catch(function () { /* the next change or reconnect tries again */ })
      .then(function () {
        refreshing = false;
        if (again) { again = false; refresh(); }
      });
  }

  function onMessage(event) {
    var message;
    try { message = JSON.parse(event.data); } catch (err) { return; }
    if (!message || message.type !== "emergencies") return;
    // On connect the socket says how many wait now: the page may be older than that.
    if (message.changed || message.count !== shownCount) refresh(message.count);
  }

  function connect() {
    retryTimer = null;
    if (stopped || paused || socket) return;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var ws;
    try {
      ws = new WebSocket(scheme + window.location.host + (first.dataset.wsUrl || "/ws/emergencies/"));
    } catch (err) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener("open", function () { attempt = 0; });
    ws.addEventListener("message", onMessage);
    ws.addEventListener("close", function (event) {
      if (socket !== ws) return;
      socket = null;
      if (event.code === 4401 || event.code === 4403) { stopped = true; return; }
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (stopped || paused || retryTimer) return;
    var delay = Math.min(MAX_DELAY_MS, 1000 * Math.pow(2, attempt));
    delay = delay / 2 + Math.random() * delay / 2;
    attempt = Math.min(attempt + 1, 10);
    retryTimer = window.setTimeout(connect, delay);
  }

  function reconnectNow() {
    if (stopped) return;
    if (retryTimer) { window.clearTimeout(retryTimer); retryTimer = null; }
    attempt = 0;
    connect();
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible") return;
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({type: "emergencies"}));
    } else {
      reconnectNow();
    }
  });
  window.addEventListener("online", reconnectNow);
  window.addEventListener("pagehide", function () {
    paused = true;
    if (retryTimer) { window.clearTimeout(retryTimer); retryTimer = null; }
    if (socket) { var ws = socket; socket = null; ws.close(1000); }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { paused = false; reconnectNow(); }
  });

  if (document.readyState === "complete") connect(); else window.addEventListener("load", connect);
})();
