// Live progress bars (imports, exports and other long work).
(() => {
  "use strict";

  // An element data-progress="<id>" follows the "progress" events of the
  // live stream (GET /api/events/) with that id: a bar with
  // role=progressbar and its aria-valuenow, the label and the count as
  // text.
  function initProgress() {
    const bars = document.querySelectorAll("[data-progress]");
    if (!bars.length) return;
    const fmt = new Intl.NumberFormat("ru-RU");
    bars.forEach((bar) => {
      bar.classList.add("live-progress");
      bar.setAttribute("role", "progressbar");
      bar.setAttribute("aria-valuemin", "0");
      if (!bar.querySelector(".live-progress-fill")) {
        const label = document.createElement("span");
        label.className = "live-progress-label";
        const track = document.createElement("span");
        track.className = "live-progress-track";
        const fill = document.createElement("span");
        fill.className = "live-progress-fill";
        track.appendChild(fill);
        bar.append(label, track);
      }
    });
    // The state each bar was rendered with (no inline styles under the CSP).
    document.querySelectorAll(".live-progress-fill[data-fill]").forEach((f) => {
      f.style.width = f.dataset.fill + "%";
    });
    const show = (p) => {
      const bar = document.querySelector('[data-progress="' + CSS.escape(String(p.id)) + '"]');
      if (!bar) return;
      const total = Math.max(0, Number(p.total) || 0);
      const done = Math.min(Math.max(0, Number(p.done) || 0), total || Infinity);
      const pct = total ? Math.round((done / total) * 100) : 0;
      bar.setAttribute("aria-valuemax", String(total));
      bar.setAttribute("aria-valuenow", String(done));
      bar.setAttribute("aria-label", p.label || "Выполнение");
      let text = (p.label ? p.label + ": " : "") + pct + "% (" + fmt.format(done) + " из " + fmt.format(total) + ")";
      if (p.state === "done") text = (p.label ? p.label + ": " : "") + "готово, " + fmt.format(done) + " из " + fmt.format(total);
      if (p.state === "failed") text = (p.label ? p.label + ": " : "") + "ошибка — " + (p.error || "работа прервана");
      bar.setAttribute("aria-valuetext", text);
      bar.dataset.state = p.state || "running";
      bar.querySelector(".live-progress-label").textContent = text;
      bar.querySelector(".live-progress-fill").style.width = (p.state === "done" ? 100 : pct) + "%";
    };
    window.crmLive.on("progress", show);
  }

  // crmReloadSoon reloads the page a moment after the work its bar shows
  // has ended, so the full bar is seen before the page changes; asked
  // again meanwhile, it still reloads once.
  let reloading = false;
  window.crmReloadSoon = () => {
    if (reloading) return;
    reloading = true;
    window.setTimeout(() => window.location.reload(), 800);
  };

  initProgress();
})();
