// Runs in <head>, before the first paint. The Content-Security-Policy forbids inline <style>
// and <script>, so the sizes computed from the px-per-mm setting come as data attributes of
// this script's own tag and are set here through the CSSOM (which the policy allows).
(() => {
  "use strict";
  const root = document.documentElement;
  const sizes = document.currentScript.dataset;
  for (const [key, property] of [["textPx", "--text"], ["targetPx", "--target"], ["gapPx", "--gap"]]) {
    if (sizes[key]) root.style.setProperty(property, `${sizes[key]}px`);
  }
  // The large-text mode lives in sessionStorage (cleared on reset).
  if (sessionStorage.getItem("bigtext") === "1") root.classList.add("bigtext");
})();
