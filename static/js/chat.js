// The conversation page's live client: one websocket per open page, reconnecting with backoff.
// Nothing lost, nothing doubled: every message carries a client id (a resend after a drop is
// stored once), the page keeps the highest seq it has shown and asks for everything after it
// whenever the socket (re)opens, and renders each message id once.
(function () {
  "use strict";
  const initialEl = document.getElementById("chat-initial");
  if (!initialEl) return;
  const initial = JSON.parse(initialEl.textContent);
  const T = initial.strings;
  const list = document.querySelector("[data-chat-messages]");
  const statusEl = document.querySelector("[data-chat-status]");
  const typingEl = document.querySelector("[data-chat-typing]");
  const onlineEl = document.querySelector("[data-chat-online]");
  const form = document.querySelector("[data-chat-compose]");
  const errorEl = document.querySelector("[data-chat-error]");
  const olderButton = document.querySelector("[data-chat-older]");
  const api = "/api/v1";
  const csrf = (JSON.parse(document.body.getAttribute("hx-headers") || "{}"))["X-CSRFToken"] || "";

  // A browser's MediaRecorder writes WebM without a duration, so players show 0:00 (or Infinity)
  // until the end is reached: seek far once to learn the length, then back to the start.
  function showDuration(audio) {
    audio.addEventListener("loadedmetadata", () => {
      if (audio.duration !== Infinity && !Number.isNaN(audio.duration)) return;
      const back = () => {
        audio.removeEventListener("timeupdate", back);
        audio.currentTime = 0;
      };
      audio.addEventListener("timeupdate", back);
      audio.currentTime = 1e7;
    }, { once: true });
  }
  document.querySelectorAll("audio[data-voice-note]").forEach(showDuration);

  const shown = new Set(initial.messages.map((m) => m.id));
  let lastSeq = initial.messages.reduce((max, m) => Math.max(max, m.seq), 0);
  let firstSeq = initial.messages.length ? initial.messages[0].seq : null;
  let receipts = initial.receipts || {};
  const outbox = new Map(); // client_id -> body, until the server acknowledges it
  let socket = null;
  let backoff = 1000;
  let failedConnects = 0; // closes in a row without an open: past DEGRADED_AFTER, live updates are paused
  const DEGRADED_AFTER = 3;
  let stopped = false;
  let typingTimer = null;
  let typingUserId = null;
  let lastTypingSent = 0;

  function uid() {
    return (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2));
  }

  function setStatus(state, text) {
    if (!statusEl) return;
    statusEl.dataset.chatStatus = state;
    statusEl.textContent = text;
  }

  function messageElement(m) {
    const li = document.createElement("li");
    li.className = "chat-message" + (m.sender_id === initial.user_id ? " chat-mine" : "");
    li.dataset.seq = m.seq;
    li.dataset.id = m.id;
    const meta = document.createElement("p");
    meta.className = "chat-meta";
    const who = document.createElement("strong");
    who.textContent = m.sender_name;
    meta.append(who);
    if (m.on_behalf) {
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = T.onBehalf + " " + initial.patient_name;
      meta.append(" ", tag);
    }
    const time = document.createElement("time");
    time.dateTime = m.created_at;
    // The server says the time as the page does (the account's zone and format); the browser's
    // own zone and format would differ from the messages rendered with the page.
    time.textContent = m.created_at_display || new Date(m.created_at).toLocaleString();
    meta.append(" ", time);
    li.append(meta);
    if (m.redacted) {
      const p = document.createElement("p");
      p.className = "chat-body chat-redacted muted";
      p.textContent = T.redacted;
      li.append(p);
    } else if (m.kind === "text") {
      const p = document.createElement("p");
      p.className = "chat-body";
      p.textContent = m.body;
      li.append(p);
    } else if (m.kind === "audio") {
      const audio = document.createElement("audio");
      audio.controls = true;
      audio.preload = "metadata";
      audio.src = m.file_url;
      li.append(audio);
      showDuration(audio);
    } else {
      const p = document.createElement("p");
      const a = document.createElement("a");
      a.href = m.file_url;
      a.textContent = m.file_name;
      p.append(a);
      li.append(p);
    }
    return li;
  }

  function insertInOrder(m) {
    if (shown.has(m.id)) return;
    shown.add(m.id);
    const pending = list.querySelector('[data-client-id="' + CSS.escape(m.client_id) + '"]');
    if (pending && m.sender_id === initial.user_id) pending.remove();
    const el = messageElement(m);
    const after = Array.from(list.querySelectorAll("li[data-seq]")).find((li) => Number(li.dataset.seq) > m.seq);
    list.insertBefore(el, after || list.querySelector("li.chat-pending") || null);
    lastSeq = Math.max(lastSeq, m.seq);
    firstSeq = firstSeq === null ? m.seq : Math.min(firstSeq, m.seq);
    el.scrollIntoView({ block: "nearest" });
  }

  function showReceipts() {
    let otherRead = 0;
    for (const [userId, seq] of Object.entries(receipts)) {
      if (userId !== initial.user_id) otherRead = Math.max(otherRead, seq);
    }
    list.querySelectorAll("li.chat-mine[data-seq]").forEach((li) => {
      const read = Number(li.dataset.seq) <= otherRead;
      li.classList.toggle("chat-read", read);
      li.title = read ? T.read : "";
      // Also in words next to the time (the ticks are only decoration, a title is not read out).
      let mark = li.querySelector(".chat-receipt");
      if (read && !mark) {
        mark = document.createElement("span");
        mark.className = "chat-receipt";
        mark.textContent = T.read;
        (li.querySelector(".chat-meta") || li).append(" ", mark);
      } else if (!read && mark) {
        mark.remove();
      }
    });
  }

  function markRead() {
    if (document.visibilityState === "visible" && socket && socket.readyState === WebSocket.OPEN && lastSeq) {
      socket.send(JSON.stringify({ type: "read", seq: lastSeq }));
    }
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function flushOutbox() {
    for (const [clientId, body] of outbox) send({ type: "message", client_id: clientId, body: body });
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "message":
        insertInOrder(frame.message);
        if (frame.message.sender_id === typingUserId) hideTyping(); // they sent what they typed
        if (frame.message.sender_id !== initial.user_id) markRead();
        showReceipts();
        break;
      case "ack":
        outbox.delete(frame.client_id);
        insertInOrder(frame.message);
        showReceipts();
        if (frame.realtime === false) setStatus("degraded", T.paused);
        break;
      case "messages":
        frame.messages.forEach(insertInOrder);
        if (frame.receipts) receipts = frame.receipts;
        if (frame.online) showOnline(frame.online);
        showReceipts();
        if (frame.more) send({ type: "resync", after: lastSeq });
        else markRead();
        break;
      case "read":
        receipts[frame.user_id] = Math.max(receipts[frame.user_id] || 0, frame.seq);
        showReceipts();
        break;
      case "typing":
        typingEl.textContent = frame.name + " " + T.typing;
        typingUserId = frame.user_id;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(hideTyping, 4000);
        break;
      case "presence":
        showOnline(frame.online);
        break;
      case "chat":
        showUrgency(frame);
        break;
      case "message_redacted": {
        // A moderator removed it: swap the shown copy (body, player or link) for the notice.
        const old = list.querySelector('li[data-id="' + CSS.escape(frame.message.id) + '"]');
        if (old) {
          const el = messageElement(frame.message);
          el.className = old.className;
          old.replaceWith(el);
        }
        break;
      }
      case "call_request":
        callRequestChanged(frame.call_request);
        break;
      case "error":
        if (errorEl) errorEl.textContent = frame.detail;
        if (frame.client_id) {
          outbox.delete(frame.client_id);
          const pending = list.querySelector('[data-client-id="' + CSS.escape(frame.client_id) + '"]');
          if (pending) pending.classList.add("chat-failed");
        }
        break;
    }
  }

  // Urgency changes of the conversation (escalated by the server, handled by the doctor), said
  // in words in a status region rather than by colour.
  function showUrgency(frame) {
    const el = document.querySelector("[data-chat-urgency]");
    if (!el) return;
    let text = "";
    if (frame.escalated) text = frame.staff_reached === false ? T.escalatedNobody : T.escalated;
    else if (frame.resolved) text = T.urgentHandled;
    else if (frame.is_urgent === false) text = T.urgentWithdrawn;
    else if (frame.is_urgent) text = T.urgentMarked;
    if (!text) return;
    el.textContent = text;
    el.hidden = false;
  }

  // The call-request panel (templates/telehealth/partials/call_request.html) is rendered by the
  // server: on a change the page fetches it again; an accepted request takes the two people of
  // the call to its room. The announcer tells screen readers what changed.
  const callPanel = document.querySelector("[data-call-request-panel]");
  let callAnnounced = null;

  function callPanelSwapped(hadFocus) {
    const body = callPanel.querySelector("[data-call-request-body]");
    const state = body.querySelector("[data-announce]");
    const text = state ? state.dataset.announce : "";
    if (callAnnounced !== null && text && text !== callAnnounced) {
      callPanel.querySelector("[data-call-request-announce]").textContent = text;
    }
    callAnnounced = text;
    if (hadFocus) {
      const target = body.querySelector("[data-call-request-focus]") || body.querySelector("button, a[href], summary");
      if (target) target.focus();
    }
  }

  async function refreshCallPanel(onlyIfIdle) {
    if (!callPanel) return;
    const body = callPanel.querySelector("[data-call-request-body]");
    const hadFocus = body.contains(document.activeElement);
    if (onlyIfIdle && hadFocus) return; // do not wipe what the person is typing
    const response = await fetch(callPanel.dataset.url, { credentials: "same-origin" });
    if (!response.ok) return;
    body.innerHTML = await response.text();
    if (window.htmx) window.htmx.process(body);
    callPanelSwapped(hadFocus);
  }

  function callRequestChanged(change) {
    if (change && change.status === "accepted" && change.call_url &&
        (change.participant_ids || []).includes(initial.user_id)) {
      location.assign(change.call_url);
      return;
    }
    refreshCallPanel(false);
  }

  if (callPanel) {
    callPanelSwapped(false);
    callPanel.addEventListener("htmx:beforeSwap", () => {
      callPanel.dataset.hadFocus = callPanel.contains(document.activeElement) ? "1" : "";
    });
    callPanel.addEventListener("htmx:afterSwap", () => callPanelSwapped(callPanel.dataset.hadFocus === "1"));
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    typingEl.textContent = "";
    typingUserId = null;
  }

  function showOnline(ids) {
    const others = ids.filter((id) => id !== initial.user_id);
    onlineEl.textContent = others.length ? T.online + " " + others.length : "";
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/chats/" + initial.chat_id + "/");
    socket.addEventListener("open", () => {
      backoff = 1000;
      failedConnects = 0;
      setStatus("connected", T.connected);
      send({ type: "resync", after: lastSeq });
      flushOutbox();
      refreshCallPanel(true); // changes missed while disconnected
    });
    socket.addEventListener("message", (event) => onFrame(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      if (event.code === 4403) {
        stopped = true;
        setStatus("closed", T.forbidden);
        return;
      }
      if (stopped || paused) return;
      failedConnects += 1;
      setStatus("reconnecting", T.reconnecting);
      // The socket keeps failing: send what waits over the API; if that works, the server is up
      // and only the live link is down, and postMessage says "live updates paused".
      if (failedConnects >= DEGRADED_AFTER) for (const [clientId, body] of outbox) postMessage(clientId, body);
      const delay = Math.min(backoff, 30000) * (0.75 + Math.random() / 2);
      backoff = Math.min(backoff * 2, 30000);
      setTimeout(connect, delay);
    });
  }

  // Leaving the page leaves the conversation at once (the other side's "Online now" drops),
  // whether or not the browser keeps the page in its back/forward cache; coming back reconnects.
  let paused = false;
  window.addEventListener("pagehide", () => {
    paused = true;
    if (socket) { const ws = socket; socket = null; ws.close(1000); }
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && paused && !stopped) { paused = false; connect(); }
  });

  async function postMessage(clientId, body) {
    let response;
    try {
      response = await fetch(api + "/messages", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ chat_id: initial.chat_id, client_id: clientId, body: body }),
      });
    } catch (e) {
      return; // offline: it stays in the outbox and goes when the socket reopens
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      outbox.delete(clientId);
      onFrame({ type: "error", client_id: clientId, detail: fieldMessage(data) || T.sendFailed });
      return;
    }
    outbox.delete(clientId);
    insertInOrder(data);
    showReceipts();
    setStatus("degraded", T.paused);
  }

  function fieldMessage(data) {
    if (Array.isArray(data.detail)) return data.detail.map((d) => d.message).join(" ");
    return data.detail || "";
  }

  if (form) {
    const textarea = form.querySelector("textarea");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = textarea.value.trim();
      if (!body) return;
      const clientId = uid();
      outbox.set(clientId, body);
      const li = document.createElement("li");
      li.className = "chat-message chat-mine chat-pending";
      li.dataset.clientId = clientId;
      li.textContent = body + " · " + T.sending;
      list.append(li);
      textarea.value = "";
      if (errorEl) errorEl.textContent = "";
      // Over the socket; when it keeps failing (the live link is down, e.g. Redis), over the API
      // (the same client id: a later resend from the outbox is stored once).
      if (!send({ type: "message", client_id: clientId, body: body }) && failedConnects >= DEGRADED_AFTER) {
        postMessage(clientId, body);
      }
      lastTypingSent = 0; // typing the next message shows at once (the server resets its pace too)
    });
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    textarea.addEventListener("input", () => {
      const now = Date.now();
      if (now - lastTypingSent > 2000) {
        lastTypingSent = now;
        send({ type: "typing" });
      }
    });

    async function upload(file, kind, name) {
      const data = new FormData();
      data.append("chat_id", initial.chat_id);
      data.append("client_id", uid());
      data.append("kind", kind);
      data.append("file", file, name || file.name);
      const response = await fetch(api + "/messages/upload", {
        method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": csrf },
      });
      if (!response.ok) {
        let detail = T.uploadFailed;
        try {
          const body = await response.json();
          if (Array.isArray(body.detail)) detail = body.detail.map((d) => d.message).join(" ");
          else if (body.detail) detail = body.detail;
        } catch (e) { /* keep the generic message */ }
        errorEl.textContent = detail;
        return;
      }
      insertInOrder(await response.json());
    }

    const fileInput = form.querySelector("[data-chat-file]");
    fileInput.addEventListener("change", () => {
      if (fileInput.files[0]) upload(fileInput.files[0], "file");
      fileInput.value = "";
    });

    const recordButton = form.querySelector("[data-chat-record]");
    let recorder = null;
    if (!window.MediaRecorder || !navigator.mediaDevices) recordButton.hidden = true;
    recordButton.addEventListener("click", async () => {
      if (recorder && recorder.state === "recording") {
        recorder.stop();
        return;
      }
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (e) {
        errorEl.textContent = e.message;
        return;
      }
      const chunks = [];
      recorder = new MediaRecorder(stream);
      recorder.addEventListener("dataavailable", (event) => chunks.push(event.data));
      recorder.addEventListener("stop", () => {
        stream.getTracks().forEach((track) => track.stop());
        recordButton.textContent = T.record;
        const type = recorder.mimeType || "audio/webm";
        const ext = type.includes("ogg") ? "ogg" : type.includes("mp4") ? "m4a" : "webm";
        upload(new Blob(chunks, { type: type }), "audio", "voice." + ext);
      });
      recorder.start();
      recordButton.textContent = T.stop;
    });
  }

  if (olderButton) {
    olderButton.addEventListener("click", async () => {
      const response = await fetch(api + "/chats/" + initial.chat_id + "/messages?before=" + firstSeq,
        { credentials: "same-origin" });
      if (!response.ok) return;
      const page = await response.json();
      const anchor = list.firstElementChild;
      page.messages.forEach(insertInOrder);
      if (anchor) anchor.scrollIntoView({ block: "start" });
      olderButton.hidden = !page.has_more;
      showReceipts();
    });
  }

  // The conversation opens at its latest message with the composer in view: the list scrolls to
  // its end, the page so that the composer ends at the window's bottom (on a phone the header,
  // the call panel and the tools fill the first screen). Again once everything has loaded, unless
  // the person scrolled meanwhile.
  function showLatest() {
    list.scrollTop = list.scrollHeight;
    if (form) form.scrollIntoView({ block: "end" });
  }

  showReceipts();
  if (!initial.searching) {
    if (!location.hash) {
      showLatest();
      let moved = false;
      const onScroll = () => { moved = true; };
      requestAnimationFrame(() => window.addEventListener("scroll", onScroll, { once: true, passive: true }));
      window.addEventListener("load", () => {
        window.removeEventListener("scroll", onScroll);
        if (!moved) showLatest();
      }, { once: true });
    }
    document.addEventListener("visibilitychange", markRead);
    connect();
  } else {
    setStatus("search", "");
  }
})();
