// The admin page «Дубли» (/admin/duplicates/).
(() => {
  "use strict";

  // While a full scan is queued or running, its bar follows the live
  // stream (progress.js): the scan's job sends its states to every admin
  // as durable events, whichever process works it. When the scan ends the
  // page reloads to show the groups it found; when another admin starts
  // one, the page reloads to show its bar.
  if (!document.querySelector('[data-testid="dup-scan-form"]')) return;
  const bar = document.querySelector("[data-dup-scan-active]");
  const active = !!bar && bar.dataset.dupScanActive === "true";
  const prefix = "duplicate-scan-";
  const scanNumber = (id) => Number(String(id).slice(prefix.length)) || 0;
  const shown = bar ? scanNumber(bar.dataset.progress) : 0;
  // progress.js (loaded with every page) draws the bar and reloads.
  const reload = () => window.crmReloadSoon();
  if (window.crmLive) {
    window.crmLive.on("progress", (p) => {
      if (!p || typeof p.id !== "string" || !p.id.startsWith(prefix)) return;
      if (active) {
        if (p.id === bar.dataset.progress && (p.state === "done" || p.state === "failed")) reload();
      } else if (p.state === "running" && scanNumber(p.id) > shown) {
        // A later scan than the one shown (the stream also replays the
        // states of the shown one, written while the page rendered).
        reload();
      }
    });
  }
})();
