// Small behaviours every page may use, bound through data- attributes (the Content-Security-Policy
// allows no inline event handlers):
//   <select data-submit-on-change>  submits its form when the choice changes (language, patient switch)
//   <input data-select-on-focus>    selects its text when focused (a URL to copy)
// Delegated from the document, so content swapped in by htmx is covered too.
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    const field = event.target;
    if (field instanceof HTMLSelectElement && field.hasAttribute("data-submit-on-change") && field.form) {
      field.form.requestSubmit();
    }
  });

  document.addEventListener("focusin", function (event) {
    const field = event.target;
    if (field instanceof HTMLInputElement && field.hasAttribute("data-select-on-focus")) {
      field.select();
    }
  });
})();
