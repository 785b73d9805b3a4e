// The kiosk's behaviour: idle reset, large text, audio mode, on-screen keyboard, print and
// call states, scroll buttons. No framework; htmx does the partial page updates.
(() => {
  "use strict";
  const body = document.body;
  const $ = (selector, root = document) => root.querySelector(selector);
  const message = (key) => $("#messages").content.querySelector(`[data-key="${key}"]`).textContent;

  // --- Footer height: the page and the idle warning keep clear of the call button --------
  const footer = $(".bottom");
  const measureFooter = () =>
    document.documentElement.style.setProperty("--footer", `${footer.offsetHeight}px`);

  // --- Scroll buttons: nobody has to drag the page --------------------------------------
  const scrollers = $(".scrollers");
  const updateScrollers = () => {
    const overflow = document.documentElement.scrollHeight > window.innerHeight + 2;
    if (scrollers.hidden === overflow) {
      scrollers.hidden = !overflow;
      measureFooter();
    }
  };
  const scrollBy = (direction) =>
    window.scrollBy({ top: direction * window.innerHeight * 0.6, behavior: "instant" });
  $("#scroll-up").addEventListener("click", () => scrollBy(-1));
  $("#scroll-down").addEventListener("click", () => scrollBy(1));

  // --- Large text --------------------------------------------------------------------------
  const bigtext = $("#bigtext");
  const showBigtext = () => {
    const on = document.documentElement.classList.contains("bigtext");
    bigtext.setAttribute("aria-pressed", on ? "true" : "false");
    measureFooter();
    updateScrollers();
  };
  bigtext.addEventListener("click", () => {
    const on = document.documentElement.classList.toggle("bigtext");
    sessionStorage.setItem("bigtext", on ? "1" : "0");
    showBigtext();
  });

  // --- Audio mode: the server speaks (espeak-ng), <audio> plays -------------------------
  const audio = $("#speech-audio");
  const play = $("#audio-play");
  const stopButton = $("#audio-stop");
  const playLabel = play.querySelector("span").textContent;
  let audioMode = sessionStorage.getItem("audio") === "1";
  let speaking = null;

  const BLOCKS = new Set(["block", "list-item", "flex", "grid", "table", "table-row"]);
  const skip = (element) =>
    element.closest("[data-nospeak], [hidden], [aria-hidden='true'], script, style, template, svg");

  // Text of a screen as (language, text) segments, in reading order. A new block ends a
  // sentence, so espeak pauses between a heading and the next line.
  function segments(roots) {
    const result = [];
    for (const root of roots) {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      let lastBlock = null;
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.textContent.replace(/\s+/g, " ").trim();
        const parent = node.parentElement;
        if (!text || skip(parent) || !parent.offsetParent && parent !== body) continue;
        let block = parent;
        while (block !== root && !BLOCKS.has(getComputedStyle(block).display)) block = block.parentElement;
        const lang = (parent.closest("[lang]") || document.documentElement).lang.slice(0, 2);
        const last = result[result.length - 1];
        if (last && last[0] === lang) {
          const joiner = block !== lastBlock && !/[.!?:…]$/.test(last[1]) ? ". " : " ";
          last[1] += joiner + text;
        } else {
          result.push([lang, text]);
        }
        lastBlock = block;
      }
    }
    return result;
  }

  function stopSpeech() {
    if (speaking) speaking.abort();
    speaking = null;
    audio.pause();
    audio.removeAttribute("src");
  }

  async function speak(roots) {
    stopSpeech();
    const parts = segments(roots || [$("#idle-warning:not([hidden])") || $("#main")]);
    if (!parts.length) return;
    speaking = new AbortController();
    try {
      const response = await fetch("/speech", {
        method: "POST", signal: speaking.signal,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ segments: parts }),
      });
      if (!response.ok) throw new Error(`speech ${response.status}`);
      const url = URL.createObjectURL(await response.blob());
      audio.src = url;
      await audio.play();
    } catch (error) {
      if (error.name !== "AbortError" && error.name !== "NotAllowedError") {
        console.warn(message("audio_error"), error);
      }
    }
  }

  function showAudio() {
    play.querySelector("span").textContent = audioMode ? play.dataset.repeat : playLabel;
    stopButton.hidden = !audioMode;
  }
  play.addEventListener("click", () => {
    audioMode = true;
    sessionStorage.setItem("audio", "1");
    showAudio();
    speak();
  });
  stopButton.addEventListener("click", () => {
    audioMode = false;
    sessionStorage.setItem("audio", "0");
    stopSpeech();
    showAudio();
  });
  // A tap anywhere else interrupts the speech (the audio buttons handle themselves).
  document.addEventListener("pointerdown", (event) => {
    if (!event.target.closest("#audio-play, #audio-stop")) audio.pause();
  }, { capture: true, passive: true });

  // --- Idle: warn, then reset (never while printing or while a person is called) --------
  const idleMs = Number(body.dataset.idleSeconds) * 1000;
  const warningSeconds = Number(body.dataset.warningSeconds);
  const overlay = $("#idle-warning");
  const count = $("#idle-count");
  const live = $("#idle-live");
  let lastActivity = Date.now();
  let warning = false;

  const busy = () => body.dataset.busy === "1" || !!$("[data-call-pending]");
  const activity = () => { if (!warning) lastActivity = Date.now(); };
  for (const type of ["pointerdown", "keydown", "scroll", "input"]) {
    document.addEventListener(type, activity, { capture: true, passive: true });
  }
  // Listening is using the kiosk: a slip page read aloud lasts longer than the idle delay, and
  // a person who cannot read is still there while the voice speaks. The idle delay counts from
  // the end of the audio (the warning's own reading does not hold it: see activity()).
  for (const type of ["play", "playing", "timeupdate"]) audio.addEventListener(type, activity);

  function showWarning() {
    warning = true;
    overlay.hidden = false;
    for (const element of [$("#page")]) element.inert = true;
    live.textContent = message(`seconds_left_${warningSeconds}`);
    $("#idle-continue").focus();
    if (audioMode) speak([overlay]);
  }
  function hideWarning() {
    warning = false;
    overlay.hidden = true;
    $("#page").inert = false;
    live.textContent = "";
    lastActivity = Date.now();
  }
  $("#idle-continue").addEventListener("click", () => { stopSpeech(); hideWarning(); });

  function reset() {
    stopSpeech();
    // A call still open is cancelled: the next visitor never inherits it (keepalive: the
    // request outlives the page it leaves).
    const call = $("[data-cancel]");
    if (call) fetch(call.dataset.cancel, { method: "POST", keepalive: true, redirect: "manual" }).catch(() => {});
    sessionStorage.clear();
    localStorage.clear();
    // The server clears the language cookie (HttpOnly) and sends the home page.
    window.location.assign("/reset");
  }

  setInterval(() => {
    if (busy()) {
      if (warning) hideWarning();
      lastActivity = Date.now();
      return;
    }
    const idleFor = Date.now() - lastActivity;
    if (!warning && idleFor >= idleMs) showWarning();
    if (warning) {
      const left = Math.max(0, Math.ceil((idleMs + warningSeconds * 1000 - idleFor) / 1000));
      count.textContent = message(`count_${left}`);
      if (left > 0 && left % 10 === 0 && left !== warningSeconds) {
        live.textContent = message(`seconds_left_${left}`);
      }
      if (left === 0) reset();
    }
  }, 1000);

  // --- On-screen keyboard --------------------------------------------------------------
  const input = $("#q");
  document.addEventListener("click", (event) => {
    const key = event.target.closest(".key[data-key], .key[data-erase]");
    if (!key || !input) return;
    if (key.hasAttribute("data-erase")) input.value = input.value.slice(0, -1);
    else if (input.value.length < Number(input.maxLength || 100)) input.value += key.dataset.key;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
  if (input) input.addEventListener("focus", () => input.blur()); // no system keyboard

  // Latin or Arabic letters: the language's layout, until the person switches; the choice
  // lasts for this language in this session (a reset clears it with the rest).
  function showLayout(name) {
    const keyboard = $("#keyboard");
    if (!keyboard) return;
    keyboard.querySelectorAll("[data-layout]").forEach((layout) => {
      layout.hidden = layout.dataset.layout !== name;
    });
    keyboard.querySelectorAll("[data-switch]").forEach((key) => {
      key.hidden = key.dataset.switch === name;
    });
  }
  document.addEventListener("click", (event) => {
    const key = event.target.closest(".key[data-switch]");
    if (!key) return;
    const name = key.dataset.switch;
    showLayout(name);
    sessionStorage.setItem("keyboard", JSON.stringify({ lang: body.dataset.lang, layout: name }));
    const other = $(`#keyboard [data-switch]:not([hidden])`);
    if (other) other.focus(); // the key tapped is now hidden: keep the focus on its twin
  });
  function restoreLayout() {
    try {
      const chosen = JSON.parse(sessionStorage.getItem("keyboard") || "null");
      if (chosen && chosen.lang === body.dataset.lang) showLayout(chosen.layout);
    } catch (error) { /* a damaged value: keep the language's layout */ }
  }
  restoreLayout();
  document.addEventListener("htmx:after:swap", restoreLayout);

  // --- Printing: busy until the printer answered, one print per tap ------------------------
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.matches("[data-busy]")) return;
    body.dataset.busy = "1";
    form.querySelector("button[type=submit]").disabled = true;
    const result = $("#print-result");
    if (result) result.textContent = message("printing");
  }, { capture: true });
  const done = () => {
    delete body.dataset.busy;
    document.querySelectorAll("form[data-busy] button[type=submit]").forEach((b) => { b.disabled = false; });
  };
  document.addEventListener("htmx:after:request", done);
  document.addEventListener("htmx:error", done);

  // --- New content: stop speech, speak it in audio mode, re-measure ---------------------
  document.addEventListener("htmx:after:swap", () => {
    stopSpeech();
    updateScrollers();
    if (audioMode) speak();
  });

  window.addEventListener("resize", () => { measureFooter(); updateScrollers(); });
  measureFooter();
  showBigtext();
  showAudio();
  updateScrollers();
  if (audioMode) speak();
})();
