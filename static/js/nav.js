// The main navigation on a phone: a disclosure button (aria-expanded, aria-controls) shows and
// hides the links. Escape closes it and gives the focus back to the button; moving the focus or
// clicking outside closes it too. Without scripts the links stay listed (the page is never
// marked "nav-js", so the CSS keeps them visible and the button hidden).
(function () {
  "use strict";
  document.documentElement.classList.add("nav-js");

  function init() {
    const toggle = document.querySelector("[data-nav-toggle]");
    const nav = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
    if (!nav) return;

    function isOpen() {
      return toggle.getAttribute("aria-expanded") === "true";
    }

    function setOpen(open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("is-open", open);
    }

    toggle.addEventListener("click", () => setOpen(!isOpen()));

    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || !isOpen()) return;
      const inside = nav.contains(document.activeElement) || document.activeElement === toggle;
      setOpen(false);
      if (inside) toggle.focus();
    });

    document.addEventListener("focusin", (event) => {
      if (isOpen() && !nav.contains(event.target) && event.target !== toggle) setOpen(false);
    });

    document.addEventListener("click", (event) => {
      if (isOpen() && !nav.contains(event.target) && !toggle.contains(event.target)) setOpen(false);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
