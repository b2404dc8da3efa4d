// Live notifications: keeps the bell's unread count current and shows a toast for each new one,
// and keeps the unread chat count on the navigation's "Messages" link current (any open tab: a
// message arriving raises it, reading a chat lowers it).
// Talks to /ws/notifications/ (telehealth/consumers_notifications.py); reconnects with backoff and
// stops for good when the server says the session is not allowed (4401 / 4403).
(function () {
  "use strict";
  var bell = document.getElementById("notification-bell");
  var region = document.getElementById("notification-toasts");
  if (!bell || !region || !("WebSocket" in window)) return;
  var chatLinks = document.querySelectorAll("a[data-chat-unread]");

  var HIDE_AFTER_MS = 8000;
  var MAX_TOASTS = 3;
  var MAX_DELAY_MS = 30000;
  var CONNECT_DELAY_MS = 1500;
  var ZERO_ID = "00000000-0000-0000-0000-000000000000";
  var labels = {
    unread: bell.dataset.labelUnread || "unread",
    dismiss: region.dataset.labelDismiss || "Dismiss",
    open: region.dataset.labelOpen || "Open"
  };

  var socket = null;
  var retryTimer = null;
  var attempt = 0;
  var stopped = false;  // the server refused this session: no more retries
  var paused = false;   // the page is being left (or sits in the back/forward cache)

  // --- the bell ----------------------------------------------------------------------------------
  function setCount(count) {
    if (typeof count !== "number" || count < 0) return;
    var badge = bell.querySelector(".bell-count");
    if (count === 0) {
      if (badge) badge.remove();
      return;
    }
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "bell-count";
      bell.appendChild(badge);
    }
    badge.textContent = String(count);
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = " " + labels.unread;
    badge.appendChild(hidden);
  }

  // --- the "Messages" link: "Messages 3 unread" to a screen reader, a number badge on screen --------
  function setChatCount(count) {
    if (typeof count !== "number" || count < 0) return;
    Array.prototype.forEach.call(chatLinks, function (link) {
      var badge = link.querySelector(".count-badge");
      if (count === 0) {
        if (badge) badge.remove();
        return;
      }
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "count-badge";
        link.append(" ", badge);
      }
      badge.textContent = String(count);
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = " " + labels.unread;
      badge.appendChild(hidden);
    });
  }

  function askChatCount() {
    // The count may have changed between rendering the page and this socket opening.
    if (chatLinks.length && socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({type: "chat_unread"}));
    }
  }

  // --- toasts ------------------------------------------------------------------------------------
  function isLocalPath(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" && url.charAt(1) !== "\\";
  }

  function dismiss(toast) {
    if (!toast.parentNode) return;
    window.clearTimeout(toast._hideTimer);
    var hadFocus = toast.contains(document.activeElement);
    toast.remove();
    if (hadFocus) bell.focus();
  }

  function startTimer(toast) {
    window.clearTimeout(toast._hideTimer);
    toast._hideTimer = window.setTimeout(function () { dismiss(toast); }, HIDE_AFTER_MS);
  }

  function fill(toast, n) {
    var title = document.createElement("p");
    title.className = "toast-title";
    title.textContent = n.title || "";
    toast.appendChild(title);
    if (n.body) {
      var body = document.createElement("p");
      body.className = "toast-body";
      body.textContent = n.body;
      toast.appendChild(body);
    }
    var openUrl = region.dataset.openUrl;
    if (n.url && n.id && openUrl && isLocalPath(n.url)) {
      // The same POST as the list page's "Open": marks it read, then follows its link.
      var form = document.createElement("form");
      form.method = "post";
      form.action = openUrl.replace(ZERO_ID, encodeURIComponent(n.id));
      var csrf = document.createElement("input");
      csrf.type = "hidden";
      csrf.name = "csrfmiddlewaretoken";
      csrf.value = region.dataset.csrf || "";
      var open = document.createElement("button");
      open.type = "submit";
      open.className = "link-button";
      open.textContent = labels.open;
      form.appendChild(csrf);
      form.appendChild(open);
      toast.appendChild(form);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", labels.dismiss);
    close.title = labels.dismiss;
    close.innerHTML = '<span aria-hidden="true">\u00d7</span>';
    close.addEventListener("click", function () { dismiss(toast); });
    toast.appendChild(close);
  }

  function showToast(n) {
    var toast = document.createElement("div");
    toast.className = "toast";
    toast.setAttribute("role", "status");
    toast.setAttribute("aria-live", "polite");
    toast.setAttribute("aria-atomic", "true");
    region.appendChild(toast);
    // Fill the live region after it is in the page, so screen readers announce the text.
    window.setTimeout(function () { fill(toast, n); }, 60);
    // Hovering or focusing a toast pauses its timer (time to read it); Escape closes it.
    toast.addEventListener("mouseenter", function () { window.clearTimeout(toast._hideTimer); });
    toast.addEventListener("mouseleave", function () { if (!toast.contains(document.activeElement)) startTimer(toast); });
    toast.addEventListener("focusin", function () { window.clearTimeout(toast._hideTimer); });
    toast.addEventListener("focusout", function (e) { if (!toast.contains(e.relatedTarget)) startTimer(toast); });
    toast.addEventListener("keydown", function (e) { if (e.key === "Escape") dismiss(toast); });
    startTimer(toast);
    var toasts = region.querySelectorAll(".toast");
    for (var i = 0; i < toasts.length - MAX_TOASTS; i++) dismiss(toasts[i]);
  }

  // --- the socket --------------------------------------------------------------------------------
  function onMessage(event) {
    var message;
    try { message = JSON.parse(event.data); } catch (err) { return; }
    if (!message || typeof message !== "object") return;
    if (message.type === "unread") {
      setCount(message.count);
    } else if (message.type === "chat_unread") {
      setChatCount(message.count);
    } else if (message.type === "notification") {
      setCount(message.unread);
      if (document.visibilityState !== "hidden") showToast(message);
    }
  }

  function connect() {
    retryTimer = null;
    if (stopped || paused || socket) return;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var ws;
    try {
      ws = new WebSocket(scheme + window.location.host + (bell.dataset.wsUrl || "/ws/notifications/"));
    } catch (err) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener("open", function () { attempt = 0; askChatCount(); });
    ws.addEventListener("message", onMessage);
    ws.addEventListener("close", function (event) {
      if (socket !== ws) return;  // an old socket we already let go of
      socket = null;
      if (event.code === 4401 || event.code === 4403) { stopped = true; return; }  // signed out / not allowed
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (stopped || paused || retryTimer) return;
    // Exponential backoff with jitter: ~1 s, 2 s, 4 s ... capped at 30 s.
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
      socket.send(JSON.stringify({type: "unread"}));  // another tab may have read some
      askChatCount();
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

  // Connect once the page has settled: the bell's count is already current when the page loads,
  // and the page's own work (a call's signalling, say) goes first.
  function start() { retryTimer = window.setTimeout(connect, CONNECT_DELAY_MS); }
  if (document.readyState === "complete") start(); else window.addEventListener("load", start);
})();
