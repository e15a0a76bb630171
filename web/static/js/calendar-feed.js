// The profile page's calendar feed: the copy button next to the URL.
(() => {
  "use strict";

  // A button data-copy="<input id>" copies that input's value; the
  // element data-copy-status next to it says so, for screen readers too.
  document.addEventListener("click", (ev) => {
    const btn = ev.target.closest("[data-copy]");
    if (!btn) return;
    const input = document.getElementById(btn.dataset.copy);
    if (!input) return;
    const status = btn.closest(".field")?.querySelector("[data-copy-status]");
    const say = (text) => { if (status) status.textContent = text; };
    input.select();
    const done = () => say("Адрес скопирован");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, () => say("Выделите адрес и скопируйте его вручную"));
    } else {
      try {
        document.execCommand("copy") ? done() : say("Выделите адрес и скопируйте его вручную");
      } catch {
        say("Выделите адрес и скопируйте его вручную");
      }
    }
  });
})();
