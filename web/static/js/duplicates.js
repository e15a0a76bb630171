// The admin page «Дубли» (/admin/duplicates/).
(() => {
  "use strict";

  // While a full scan is queued or running, its bar follows the live
  // stream (progress.js); when the scan ends the page reloads to show the
  // groups it found. A scan worked by another process sends no events to
  // this one, so the page also asks for the scan's state every few
  // seconds (the page as JSON).
  const bar = document.querySelector("[data-dup-scan-active]");
  if (!bar) return;
  // The state the page was rendered with (no inline styles under the CSP).
  const fill = bar.querySelector(".live-progress-fill[data-fill]");
  if (fill) fill.style.width = fill.dataset.fill + "%";
  if (bar.dataset.dupScanActive !== "true") return;
  let reloading = false;
  const reload = () => {
    if (reloading) return;
    reloading = true;
    // A moment to see the full bar before the page changes.
    window.setTimeout(() => window.location.reload(), 800);
  };
  if (window.crmLive) {
    window.crmLive.on("progress", (p) => {
      if (p && p.id === bar.dataset.progress && (p.state === "done" || p.state === "failed")) reload();
    });
  }
  const poll = async () => {
    if (reloading) return;
    try {
      const res = await fetch(window.location.pathname, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (res.ok) {
        const body = await res.json();
        const scan = body && body.scan;
        if (scan && scan.state !== "queued" && scan.state !== "running") {
          reload();
          return;
        }
      }
    } catch {
      // Offline for a moment: ask again later.
    }
    window.setTimeout(poll, 3000);
  };
  window.setTimeout(poll, 3000);
})();
