// The header's notification bell: the unread count (an orange badge) and a
// panel of the latest ten, opened by the bell and closed by Esc, a click
// outside or the bell again. The count and the panel follow the live
// stream ("unread", "notification"; "reset" refetches) — no polling.
// Without JavaScript the bell is a link to /notifications/.
(() => {
  "use strict";

  const root = document.querySelector("[data-bell]");
  if (!root) return;
  const toggle = root.querySelector("[data-bell-toggle]");
  const badge = root.querySelector("[data-bell-count]");
  const panel = root.querySelector("[data-bell-panel]");
  const list = root.querySelector("[data-bell-list]");
  const empty = root.querySelector("[data-bell-empty]");
  const readAll = root.querySelector("[data-bell-read-all]");
  const announce = root.querySelector("[data-bell-live]");
  const latest = 10;
  let items = null; // the panel's notifications once loaded, newest first
  let count = Number(badge.textContent.replace(/\D/g, "")) || 0;
  if (badge.hidden) count = 0;

  const json = { credentials: "same-origin", headers: { Accept: "application/json" } };
  const post = (path) => fetch(path, { ...json, method: "POST", keepalive: true });

  const label = (n) => {
    if (n <= 0) return "Уведомления: нет непрочитанных";
    const m10 = n % 10;
    const m100 = n % 100;
    let word = "непрочитанных";
    if (m10 === 1 && m100 !== 11) word = "непрочитанное";
    return "Уведомления: " + n + " " + word;
  };

  const setCount = (n) => {
    count = Math.max(0, Number(n) || 0);
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.hidden = count <= 0;
    toggle.setAttribute("aria-label", label(count));
    readAll.hidden = count <= 0;
  };

  const when = new Intl.DateTimeFormat("ru-RU", { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" });

  const itemNode = (n) => {
    const li = document.createElement("li");
    li.className = "bell-item" + (n.is_read ? "" : " is-unread");
    li.dataset.testid = "bell-item";
    const a = document.createElement("a");
    a.className = "bell-item-link";
    a.href = n.url || "/notifications/";
    if (!n.is_read) {
      const hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = "Непрочитано: ";
      a.append(hidden);
    }
    const title = document.createElement("span");
    title.className = "bell-item-title";
    title.textContent = n.title;
    a.append(title);
    if (n.body) {
      const body = document.createElement("span");
      body.className = "bell-item-body";
      body.textContent = n.body;
      a.append(body);
    }
    const time = document.createElement("time");
    time.className = "bell-item-time";
    time.dateTime = n.created_at;
    time.textContent = when.format(new Date(n.created_at));
    a.append(time);
    a.addEventListener("click", () => {
      if (!n.is_read) post("/api/notifications/" + n.id + "/read/");
    });
    li.append(a);
    return li;
  };

  const render = () => {
    if (!items) return;
    list.replaceChildren(...items.map(itemNode));
    empty.hidden = items.length > 0;
  };

  const load = () =>
    fetch("/api/notifications/?page_size=" + latest, json)
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((page) => {
        items = page.results || [];
        render();
      })
      .catch(() => {});

  const refreshCount = () =>
    fetch("/api/notifications/unread-count/", json)
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((d) => setCount(d.count))
      .catch(() => {});

  const isOpen = () => !panel.hidden;

  const openPanel = () => {
    panel.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    load();
  };

  const closePanel = (focusBell) => {
    if (!isOpen()) return;
    panel.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    if (focusBell) toggle.focus();
  };

  // The link becomes the panel's disclosure button.
  toggle.setAttribute("role", "button");
  toggle.setAttribute("aria-expanded", "false");
  toggle.setAttribute("aria-controls", panel.id);
  toggle.addEventListener("click", (e) => {
    e.preventDefault();
    if (isOpen()) closePanel(false);
    else openPanel();
  });
  toggle.addEventListener("keydown", (e) => {
    if (e.key === " ") {
      e.preventDefault();
      toggle.click();
    }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && isOpen()) {
      e.preventDefault();
      closePanel(true);
    }
  });
  document.addEventListener("click", (e) => {
    if (isOpen() && !root.contains(e.target)) closePanel(false);
  });

  readAll.addEventListener("submit", (e) => {
    e.preventDefault();
    post("/api/notifications/read-all/").then((r) => {
      if (!r.ok) return;
      setCount(0);
      if (items) items = items.map((n) => ({ ...n, is_read: true }));
      render();
    });
  });

  setCount(count);

  // 00-live.js comes first in the bundle, so the stream is there.
  if (window.crmLive) {
    window.crmLive.on("unread", (d) => setCount(d.count));
    window.crmLive.on("notification", (n) => {
      if (announce) announce.textContent = "Новое уведомление: " + n.title;
      if (!items) return;
      items = [n, ...items.filter((x) => x.id !== n.id)].slice(0, latest);
      render();
    });
    window.crmLive.on("reset", () => {
      refreshCount();
      if (isOpen()) load();
      else items = null;
    });
  }
})();
