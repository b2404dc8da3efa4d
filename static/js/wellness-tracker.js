// Wellness tracker: − / + buttons around number inputs (the inputs work on their own without JS).
(function () {
  function stepperInit(root) {
    var input = root.querySelector("input");
    if (!input) return;
    root.querySelectorAll("[data-step]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        if (button.dataset.step === "1") { input.stepUp(); } else { input.stepDown(); }
        input.dispatchEvent(new Event("input", { bubbles: true }));
      });
    });
  }
  function initAll(scope) {
    (scope || document).querySelectorAll("[data-stepper]:not([data-stepper-ready])").forEach(function (root) {
      root.setAttribute("data-stepper-ready", "");
      stepperInit(root);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { initAll(document); });
  document.addEventListener("htmx:afterSwap", function (event) { initAll(event.target); });
})();
