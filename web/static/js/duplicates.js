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
  // The state the page was rendered with (no inline styles under the CSP).
  const fill = bar && bar.querySelector(".live-progress-fill[data-fill]");
  if (fill) fill.style.width = fill.dataset.fill + "%";
  let reloading = false;
  const reload = () => {
    if (reloading) return;
    reloading = true;
    // A moment to see the full bar before the page changes.
    window.setTimeout(() => window.location.reload(), 800);
  };
  if (window.crmLive) {
    window.crmLive.on("progress", (p) => {
      if (!p || typeof p.id !== "string" || !p.id.startsWith("duplicate-scan-")) return;
      if (active ? p.id === bar.dataset.progress && (p.state === "done" || p.state === "failed") : p.state === "running") reload();
    });
  }
})();
