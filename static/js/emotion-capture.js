// Emotion snapshot: the camera is on only while capturing (~2 s); a few frames are drawn to a
// canvas, sent as JPEGs, and the server-rendered result is polled until the analysis is done.
// Configuration and every visible string come from the page (#emotion-capture-config).
(function () {
  "use strict";
  const root = document.querySelector("[data-emotion-capture]");
  const configNode = document.getElementById("emotion-capture-config");
  if (!root || !configNode) return;

  const config = JSON.parse(configNode.textContent);
  const text = config.strings;
  const button = root.querySelector("[data-role=start]");
  const preview = root.querySelector("[data-role=preview]");
  const video = preview.querySelector("video");
  const status = root.querySelector("[data-role=status]");
  const result = root.querySelector("[data-role=result]");
  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  const POLL_MS = 1000;
  const GIVE_UP_MS = 90000;

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function say(message, kind) {
    status.textContent = message || "";
    status.className = "emotion-status" + (kind ? " is-" + kind : "");
  }

  function cameraMessage(error) {
    switch (error && error.name) {
      case "NotAllowedError": case "PermissionDeniedError": case "SecurityError": return text.denied;
      case "NotFoundError": case "DevicesNotFoundError": case "OverconstrainedError": return text.noCamera;
      case "Unsupported": return text.unsupported;
      default: return text.cameraError;
    }
  }

  function openCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      const error = new Error("unsupported"); error.name = "Unsupported";
      return Promise.reject(error);
    }
    return navigator.mediaDevices.getUserMedia({ audio: false, video: { facingMode: "user", width: { ideal: config.width } } });
  }

  function stopCamera(stream) {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    video.srcObject = null;
    preview.hidden = true;
  }

  async function videoReady() {
    if (video.readyState >= 2 && video.videoWidth) return;
    await new Promise(function (resolve) { video.addEventListener("loadeddata", resolve, { once: true }); });
  }

  function grab(canvas) {
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.85); });
  }

  async function captureFrames() {
    const canvas = document.createElement("canvas");
    const scale = Math.min(1, config.width / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    const gap = config.durationMs / config.frames;
    const frames = [];
    for (let i = 0; i < config.frames; i++) {
      if (i) await sleep(gap);
      frames.push(await grab(canvas));
    }
    return frames.filter(Boolean);
  }

  async function upload(frames) {
    const body = new FormData();
    frames.forEach(function (blob, i) { body.append("frames", blob, "frame-" + (i + 1) + ".jpg"); });
    let response;
    try {
      response = await fetch(config.captureUrl, {
        method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": csrf, "Accept": "application/json" },
      });
    } catch (networkError) {
      throw new Error(text.uploadError);
    }
    const data = await response.json().catch(function () { return {}; });
    if (!response.ok) throw new Error(data.detail || text.uploadError);
    return data;
  }

  async function showResult(url) {
    const started = Date.now();
    while (Date.now() - started < GIVE_UP_MS) {
      const response = await fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } }).catch(function () { return null; });
      if (response && response.ok) {
        result.innerHTML = await response.text();
        const node = result.querySelector("[data-status]");
        if (node && node.dataset.status !== "pending") return true;
      }
      await sleep(POLL_MS);
    }
    return false;
  }

  async function refreshHistory() {
    const target = document.getElementById("emotion-history");
    if (!target) return;
    const response = await fetch(config.historyUrl, { credentials: "same-origin", headers: { "HX-Request": "true" } }).catch(function () { return null; });
    if (response && response.ok) target.innerHTML = await response.text();
  }

  async function takeSnapshot() {
    let stream = null;
    button.disabled = true;
    result.innerHTML = "";
    try {
      say(text.starting);
      try {
        stream = await openCamera();
      } catch (error) {
        say(cameraMessage(error), "error");
        return;
      }
      video.srcObject = stream;
      preview.hidden = false;
      await video.play().catch(function () {});
      await videoReady();
      say(text.ready);
      await sleep(800);
      say(text.capturing);
      const frames = await captureFrames();
      stopCamera(stream);
      stream = null;
      say(text.uploading);
      const job = await upload(frames);
      say(text.analysing);
      const finished = await showResult(job.status_url);
      say(finished ? "" : text.slow);
      await refreshHistory();
    } catch (error) {
      say(error.message || text.uploadError, "error");
    } finally {
      stopCamera(stream);
      button.disabled = false;
    }
  }

  button.addEventListener("click", takeSnapshot);
})();
