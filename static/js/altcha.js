// The sign-up forms' proof of work (accounts/human_check.py): find the number whose SHA-256 with
// the challenge's salt gives the challenge, and send it with the form. Without Web Crypto, or if
// anything fails, the question stays visible (the accessible fallback). Haven's own code: the
// ALTCHA v1 scheme, no vendor widget.
(function () {
  "use strict";
  const box = document.querySelector("[data-altcha]");
  const data = document.getElementById("altcha-challenge");
  if (!box || !data) return;
  const form = box.closest("form");
  const field = form && form.querySelector("input[name$='altcha']");
  const fallback = box.querySelector("[data-altcha-fallback]");
  const status = box.querySelector("[data-altcha-status]");
  if (!form || !field || !window.crypto || !window.crypto.subtle || !window.TextEncoder) return;
  const challenge = JSON.parse(data.textContent);
  const encoder = new TextEncoder();
  let solved = false;
  let submitWhenSolved = false;

  function hex(buffer) {
    return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function solve() {
    for (let n = 0; n <= challenge.maxNumber; n += 1) {
      const digest = await crypto.subtle.digest("SHA-256", encoder.encode(challenge.salt + n));
      if (hex(digest) === challenge.challenge) return n;
    }
    throw new Error("no solution");
  }

  fallback.hidden = true;
  status.textContent = box.dataset.working;
  form.addEventListener("submit", (event) => {
    if (!solved && fallback.hidden) {
      event.preventDefault();
      submitWhenSolved = true;
    }
  });
  solve().then((number) => {
    field.value = btoa(JSON.stringify({
      algorithm: challenge.algorithm, challenge: challenge.challenge, number: number,
      salt: challenge.salt, signature: challenge.signature,
    }));
    solved = true;
    status.textContent = box.dataset.done;
    if (submitWhenSolved) form.requestSubmit();
  }).catch(() => {
    fallback.hidden = false;
    status.textContent = box.dataset.failed;
    submitWhenSolved = false;
  });
})();
