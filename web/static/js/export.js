// The page of a large export (/export/companies/{id}/).
(() => {
  "use strict";

  // While the export job runs, its bar follows the live stream
  // (progress.js draws it); when the job ends the page reloads to show
  // the download link (or why it failed). No polling: the stream says when.
  const bar = document.querySelector("[data-export-active]");
  if (!bar || !window.crmLive) return;
  window.crmLive.on("progress", (p) => {
    if (!p || p.id !== bar.dataset.progress) return;
    if (p.state === "done" || p.state === "failed") window.crmReloadSoon();
  });
  window.crmLive.on("reset", () => window.crmReloadSoon());
})();
