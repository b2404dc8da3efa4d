// A one-to-one appointment call: pre-join device check, then WebRTC. The server only relays
// signalling (/ws/calls/<room>/); media flows peer to peer through the STUN/TURN servers from
// settings.
//
// Who offers: only the doctor (the "impolite" peer) starts a connection, either when it joins and
// the patient is already ready or when the patient says "ready"; the patient answers, creating its
// connection when the offer arrives. Two peers offering at once (glare) therefore cannot happen
// on joining. Later renegotiations (an ICE restart from either side) still follow the "perfect
// negotiation" pattern, with the patient as the polite peer that yields.
(() => {
  "use strict";

  const config = JSON.parse(document.getElementById("call-config").textContent);
  const text = JSON.parse(document.getElementById("call-text").textContent);
  const $ = (id) => document.getElementById(id);
  const polite = config.polite;

  let localStream = null;
  let pc = null;
  let ws = null;
  let media = "video";
  let makingOffer = false;
  let ignoreOffer = false;
  let settingRemoteAnswer = false;
  let peerFresh = true; // the peer (re)connected since our last peer connection was made
  let finished = false;
  let retryMs = 1000;

  // For the browser test and for debugging: the live connection and its inbound video bytes.
  window.havenCall = {
    get pc() { return pc; },
    async inboundVideoBytes() {
      if (!pc) return 0;
      let bytes = 0;
      (await pc.getStats()).forEach((report) => {
        if (report.type === "inbound-rtp" && report.kind === "video") bytes += report.bytesReceived || 0;
      });
      return bytes;
    },
  };

  function showState(label) {
    $("call-state").textContent = label;
  }

  function send(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }

  // --- pre-join: camera and microphone ----------------------------------------------------
  async function preview() {
    const status = $("call-device-status");
    try {
      localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      status.textContent = text.ready;
    } catch (videoError) {
      try {
        localStream = await navigator.mediaDevices.getUserMedia({ audio: true });
        document.querySelector("input[name=call-media][value=audio]").checked = true;
        document.querySelector("input[name=call-media][value=video]").disabled = true;
        status.textContent = text.audioOnly;
      } catch (audioError) {
        localStream = new MediaStream(); // receive only
        status.textContent = text.noDevices;
      }
    }
    $("call-preview").srcObject = localStream;
  }

  let previewed = null; // the device check's promise: joining waits for it
  let signals = Promise.resolve();

  async function join() {
    $("call-join").disabled = true;
    await previewed;
    media = document.querySelector("input[name=call-media]:checked").value;
    if (media === "audio") {
      localStream.getVideoTracks().forEach((track) => { track.stop(); localStream.removeTrack(track); });
    }
    $("call-preview").srcObject = null;
    $("call-prejoin").hidden = true;
    $("call-live").hidden = false;
    $("call-self").srcObject = localStream;
    $("call-camera").disabled = localStream.getVideoTracks().length === 0;
    showState(text.connecting);
    connect();
  }

  // --- signalling -----------------------------------------------------------------------------
  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${scheme}//${location.host}${config.wsPath}`);
    ws.onopen = () => { retryMs = 1000; };
    // Handle signals one at a time, in arrival order: an offer still being applied must not be
    // overtaken by the next message (which could replace the peer connection under it).
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      signals = signals.then(() => onSignal(message)).catch((error) => console.warn("call:", error));
    };
    ws.onclose = (event) => {
      if (finished) return;
      if (event.code === 4403) return stop(text.refused);
      if (event.code === 4410) return stop(text.notOpen);
      if (event.code === 4409) return stop(text.replaced);
      showState(text.reconnecting);
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    };
  }

  async function onSignal(message) {
    switch (message.type) {
      case "welcome":
        send({ type: "ready", media });
        if (!message.peer_ready) showState(text.waiting);
        else if (!polite) startPeer(); // the patient waits for the doctor's offer
        break;
      case "peer-joined":
        peerFresh = true;
        break;
      case "ready":
        // The other side (re)joined: a connection made with its previous visit is stale.
        if (pc && peerFresh) closePeer();
        if (!polite && !pc) startPeer();
        break;
      case "peer-left":
        closePeer();
        showState(text.peerLeft);
        break;
      case "offer":
        if (!pc || peerFresh) startPeer();
        await onDescription({ type: "offer", sdp: message.sdp });
        break;
      case "answer":
        if (pc) await onDescription({ type: "answer", sdp: message.sdp });
        break;
      case "ice":
        if (pc && message.candidate && message.candidate.candidate) await onCandidate(message.candidate);
        break;
      case "hangup":
        finish();
        break;
      case "error":
        console.warn("call: server refused a frame:", message.code, message.message);
        break;
      default:
        break;
    }
  }

  // --- the peer connection (perfect negotiation) ---------------------------------------------
  function startPeer() {
    closePeer();
    peerFresh = false;
    makingOffer = false;
    ignoreOffer = false;
    settingRemoteAnswer = false;
    const connection = new RTCPeerConnection({ iceServers: config.iceServers });
    pc = connection;
    localStream.getTracks().forEach((track) => connection.addTrack(track, localStream));
    if (!localStream.getAudioTracks().length) connection.addTransceiver("audio", { direction: "recvonly" });
    if (!localStream.getVideoTracks().length) connection.addTransceiver("video", { direction: "recvonly" });

    connection.ontrack = ({ track, streams }) => {
      const remote = $("call-remote");
      if (streams[0]) {
        remote.srcObject = streams[0];
      } else {
        if (!remote.srcObject) remote.srcObject = new MediaStream();
        remote.srcObject.addTrack(track);
      }
    };
    connection.onnegotiationneeded = async () => {
      try {
        makingOffer = true;
        await connection.setLocalDescription();
        if (connection !== pc) return;
        send({ type: connection.localDescription.type, sdp: connection.localDescription.sdp });
      } catch (error) {
        console.warn("call: negotiation failed", error);
      } finally {
        makingOffer = false;
      }
    };
    connection.onicecandidate = ({ candidate }) => {
      send({ type: "ice", candidate: candidate ? candidate.toJSON() : null });
    };
    connection.onconnectionstatechange = () => {
      if (connection !== pc) return;
      const state = connection.connectionState;
      showState(text[state] || state);
      // A changed network or a dropped path: ask for fresh ICE candidates (a new offer).
      if (state === "failed") connection.restartIce();
    };
  }

  async function onDescription(description) {
    const connection = pc;
    const readyForOffer = !makingOffer && (connection.signalingState === "stable" || settingRemoteAnswer);
    const offerCollision = description.type === "offer" && !readyForOffer;
    ignoreOffer = !polite && offerCollision;
    if (ignoreOffer) return;
    settingRemoteAnswer = description.type === "answer";
    await connection.setRemoteDescription(description); // the polite peer rolls back implicitly
    settingRemoteAnswer = false;
    if (description.type === "offer") {
      await connection.setLocalDescription();
      if (connection !== pc) return;
      // The description's own type: an offer made by onnegotiationneeded meanwhile is an offer.
      send({ type: connection.localDescription.type, sdp: connection.localDescription.sdp });
    }
  }

  async function onCandidate(candidate) {
    try {
      await pc.addIceCandidate(candidate);
    } catch (error) {
      if (!ignoreOffer) console.warn("call: bad ICE candidate", error);
    }
  }

  function closePeer() {
    if (!pc) return;
    const connection = pc;
    pc = null;
    connection.ontrack = connection.onnegotiationneeded = connection.onicecandidate = null;
    connection.onconnectionstatechange = null;
    connection.close();
    $("call-remote").srcObject = null;
  }

  function restartIce() {
    if (pc && pc.connectionState !== "new") pc.restartIce();
  }

  // --- controls ---------------------------------------------------------------------------------
  function toggle(button, tracks, onLabel, offLabel) {
    const off = button.getAttribute("aria-pressed") !== "true";
    tracks.forEach((track) => { track.enabled = !off; });
    button.setAttribute("aria-pressed", String(off));
    button.textContent = off ? onLabel : offLabel;
  }

  function stop(label) {
    finished = true;
    closePeer();
    if (localStream) localStream.getTracks().forEach((track) => track.stop());
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000);
    showState(label);
  }

  function finish() {
    if (finished) return;
    stop(text.closed);
    window.location.assign(config.afterUrl);
  }

  function hangUp() {
    send({ type: "hangup" });
    finish();
  }

  $("call-join").addEventListener("click", join);
  $("call-mute").addEventListener("click", (event) => {
    toggle(event.currentTarget, localStream.getAudioTracks(), text.unmute, text.mute);
  });
  $("call-camera").addEventListener("click", (event) => {
    toggle(event.currentTarget, localStream.getVideoTracks(), text.cameraOn, text.cameraOff);
  });
  $("call-hangup").addEventListener("click", hangUp);
  window.addEventListener("online", restartIce);
  if (navigator.connection) navigator.connection.addEventListener("change", restartIce);
  previewed = preview();
})();
