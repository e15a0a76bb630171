// The admin page of one import (/admin/imports/{id}/).
(() => {
  "use strict";

  // While the import is queued or running, its bar follows the live
  // stream (progress.js): the import's job sends its states to every
  // admin. When it ends, the page reloads to show the report (or why it
  // failed). No polling: the stream says when.
  const bar = document.querySelector("[data-import-active]");
  if (!bar) return;
  // progress.js (loaded with every page) draws the bar and reloads.
  const reload = () => window.crmReloadSoon();
  if (window.crmLive) {
    window.crmLive.on("progress", (p) => {
      if (!p || p.id !== bar.dataset.progress) return;
      if (p.state === "done" || p.state === "failed") reload();
    });
    // Events were lost (a long disconnection): the page shows the state.
    window.crmLive.on("reset", reload);
  }
})();
