// The desk page: a kiosk's call is heard (a short chime), seen in the tab title
// ("(1) Appel — Orientation") and on the page (a banner). Browsers play sound only after a
// gesture: "Je suis à l'accueil" is one; after the page reloads, "Activer le son" is another.
(() => {
  "use strict";
  const title = document.title;
  // The word for the tab title comes from the page, in the desk's language.
  const word = document.querySelector("[data-call-word]")?.dataset.callWord || "Appel";
  const sound = new Audio("/static/desk-alert.wav");
  const enable = document.querySelector("#desk-sound");
  let known = new Set();
  let first = true;

  const wanted = () => sessionStorage.getItem("desk-sound") === "1";
  function ring() {
    if (!wanted()) return;
    sound.currentTime = 0;
    sound.play().then(() => { if (enable) enable.hidden = true; })
      .catch(() => { if (enable) enable.hidden = false; }); // blocked: ask for a tap
  }

  function update() {
    const section = document.querySelector("#requests");
    if (!section) return;
    const pending = [...section.querySelectorAll("[data-pending-id]")].map((e) => e.dataset.pendingId);
    document.title = pending.length ? `(${pending.length}) ${word} — Orientation` : title;
    const fresh = pending.some((id) => !known.has(id));
    known = new Set(pending);
    if (fresh && !first) ring();
    if (fresh && first && wanted()) ring();
    first = false;
  }

  document.addEventListener("submit", (event) => {
    if (event.target.matches(".duty") && event.target.querySelector("input[name=on][value='1']")) {
      sessionStorage.setItem("desk-sound", "1");
      sound.muted = true; // unlock audio within the gesture, silently
      sound.play().catch(() => {}).finally(() => { sound.pause(); sound.muted = false; });
    } else if (event.target.matches(".duty")) {
      sessionStorage.removeItem("desk-sound");
    }
  }, { capture: true });
  if (enable) {
    enable.addEventListener("click", () => {
      sessionStorage.setItem("desk-sound", "1");
      ring();
    });
  }
  document.addEventListener("htmx:after:swap", update);
  update();
})();
