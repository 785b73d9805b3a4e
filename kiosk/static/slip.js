// The slip screen: once the slip is printed, "Imprimer" stays off until the page changes, so a
// second tap never prints a second slip. kiosk.js turns the button back on when the printer
// answers (for a failed print, a new try is right); here, a print that worked turns it off again.
(() => {
  "use strict";
  const form = document.querySelector("form.print-form");
  if (!form) return;
  const printed = () => form.dataset.printed === "1";
  const disable = () => {
    form.dataset.printed = "1";
    form.querySelectorAll("button[type=submit]").forEach((b) => {
      b.disabled = true;
      b.setAttribute("aria-disabled", "true");
    });
  };
  document.addEventListener("htmx:after:swap", () => {
    if (document.querySelector("#print-result .message.done")) disable();
  });
  document.addEventListener("htmx:after:request", () => { if (printed()) disable(); });
  // Before kiosk.js and htmx see it: a submit of a printed slip (Enter key, script) is dropped.
  window.addEventListener("submit", (event) => {
    if (event.target === form && printed()) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, { capture: true });
})();
