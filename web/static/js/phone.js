// «Позвонить с телефона»: the call buttons beside phone numbers and the
// toast that follows the request on its way to the phone, and the live
// parts of «Мой телефон» (the countdown of the QR code, the phone's
// request to pair as soon as it comes). Both follow the live events
// stream (call_request, phone_pairing) — no polling.
(() => {
  "use strict";

  const LABELS = {
    pending: "Отправляется",
    sent: "Отправлено",
    delivered: "Доставлено",
    opened: "Открыто на телефоне",
    dialed: "Набор номера",
    cancelled: "Отменено на телефоне",
    expired: "Истекло: телефон не ответил за 2 минуты",
    failed: "Не доставлено",
    superseded: "Заменён новым запросом",
    withdrawn: "Отменено",
  };
  // The steps the toast shows, and how far along each status is.
  const STEPS = [
    ["sent", "Отправлено"],
    ["delivered", "Доставлено"],
    ["opened", "Открыто"],
    ["dialed", "Набор"],
  ];
  const RANK = { pending: 0, sent: 1, delivered: 2, opened: 3 };
  const rank = (s) => (s in RANK ? RANK[s] : 4);
  const isOpen = (s) => rank(s) < 4;
  const HINT_MS = 15000;
  const json = { credentials: "same-origin", headers: { Accept: "application/json" } };

  // ------------------------------------------------------- call buttons --
  const buttons = document.querySelectorAll("[data-call-phone]");
  let current = null; // the request the toast follows
  const early = new Map(); // statuses that came before the request's answer

  const newKey = () => {
    const a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.from(a, (x) => x.toString(16).padStart(2, "0")).join("");
  };

  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  };

  const toasts = () => document.querySelector("[data-testid=toasts]") || document.body;

  const removeToast = (t) => {
    if (!t || !t.isConnected) return;
    t.classList.add("is-leaving");
    setTimeout(() => t.remove(), 300);
  };

  const dropCurrent = () => {
    if (!current) return;
    clearTimeout(current.hintTimer);
    clearTimeout(current.closeTimer);
    removeToast(current.toast);
    current = null;
  };

  // errorToast says why no request went out; link leads to the fix.
  const errorToast = (text, link) => {
    dropCurrent();
    const t = el("div", "toast toast-error call-toast");
    t.setAttribute("role", "alert");
    t.dataset.testid = "call-toast";
    const body = el("div", "toast-text");
    body.append(el("p", "call-toast-status", text));
    if (link) {
      const a = el("a", "call-toast-link", link[1]);
      a.href = link[0];
      a.dataset.testid = "call-toast-link";
      body.append(a);
    }
    const close = el("button", "toast-close");
    close.type = "button";
    close.setAttribute("aria-label", "Закрыть");
    close.textContent = "×";
    close.addEventListener("click", () => removeToast(t));
    t.append(body, close);
    toasts().append(t);
    setTimeout(() => removeToast(t), 10000);
  };

  const render = () => {
    const c = current;
    const st = c.status;
    c.statusText.textContent = LABELS[st] || st;
    c.toast.dataset.status = st;
    c.steps.forEach(([key, li]) => {
      // Dialed: every step was taken, even those whose events came
      // together. Another ending keeps the steps reached before it.
      const done = st === "dialed" || (isOpen(st) ? rank(key) <= rank(st) : li.classList.contains("is-done"));
      li.classList.toggle("is-done", done);
      li.classList.toggle("is-current", key === st);
    });
    const open = isOpen(st);
    c.cancel.hidden = !open;
    c.toast.classList.toggle("toast-success", st === "dialed");
    c.toast.classList.toggle("toast-error", ["failed", "expired"].includes(st));
    if (rank(st) >= 2) c.hint.hidden = true;
    if (!open) {
      clearTimeout(c.hintTimer);
      c.hint.hidden = true;
      clearTimeout(c.closeTimer);
      c.closeTimer = setTimeout(() => {
        if (current === c) dropCurrent();
      }, 8000);
    }
  };

  const advance = (status) => {
    if (!current || !status) return;
    // Only forward: a late event never moves the toast back.
    if (!isOpen(current.status) || (isOpen(status) && rank(status) <= rank(current.status))) return;
    current.status = status;
    render();
  };

  const start = (req, display) => {
    dropCurrent();
    const t = el("div", "toast toast-info call-toast");
    t.setAttribute("role", "status");
    t.dataset.testid = "call-toast";
    t.dataset.callRequest = String(req.id);
    const body = el("div", "toast-text");
    // The number never breaks across lines: «123-» and «45-67» apart
    // read as two numbers.
    const title = el("p", "call-toast-title", "Звонок с телефона: ");
    title.append(el("span", "nowrap", display));
    body.append(title);
    const ol = el("ol", "call-steps");
    ol.setAttribute("aria-hidden", "true");
    const steps = STEPS.map(([key, label]) => {
      const li = el("li", "", label);
      ol.append(li);
      return [key, li];
    });
    const statusText = el("p", "call-toast-status");
    statusText.dataset.testid = "call-status";
    const hint = el("p", "call-toast-hint", "Телефон не отвечает: проверьте, что приложение запущено и есть интернет.");
    hint.dataset.testid = "call-hint";
    hint.hidden = true;
    body.append(ol, statusText, hint);
    const actions = el("div", "call-toast-actions");
    const cancel = el("button", "btn btn-secondary btn-sm", "Отменить");
    cancel.type = "button";
    cancel.dataset.testid = "call-cancel";
    const close = el("button", "toast-close");
    close.type = "button";
    close.setAttribute("aria-label", "Закрыть");
    close.textContent = "×";
    actions.append(cancel);
    t.append(body, actions, close);
    toasts().append(t);

    current = { id: req.id, status: req.status || "pending", toast: t, steps, statusText, hint, cancel };
    const c = current;
    close.addEventListener("click", () => {
      if (current === c) dropCurrent();
      else removeToast(t);
    });
    cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      try {
        const r = await fetch("/api/call-requests/" + c.id + "/cancel/", { ...json, method: "POST" });
        const got = await r.json().catch(() => ({}));
        if (current === c && got.status) advance(got.status);
      } finally {
        cancel.disabled = false;
      }
    });
    // No «delivered» 15 s after the request was made: say what to check.
    const created = Date.parse(req.created_at);
    const wait = Number.isNaN(created) ? HINT_MS : Math.min(HINT_MS, Math.max(0, created + HINT_MS - Date.now()));
    c.hintTimer = setTimeout(() => {
      if (current === c && rank(c.status) < 2 && isOpen(c.status)) c.hint.hidden = false;
    }, wait);
    render();
    if (early.has(req.id)) advance(early.get(req.id));
    early.clear();
  };

  const call = async (b) => {
    const body = { phone: b.dataset.callPhone };
    if (b.dataset.callCompany) body.company = Number(b.dataset.callCompany);
    if (b.dataset.callContact) body.contact = Number(b.dataset.callContact);
    const display = (b.getAttribute("aria-label") || "").replace(/^Позвонить с телефона:\s*/, "");
    b.disabled = true;
    try {
      const r = await fetch("/api/call-requests/", {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "Content-Type": "application/json", "Idempotency-Key": newKey() },
        body: JSON.stringify(body),
      });
      const data = await r.json().catch(() => ({}));
      if (r.status === 409 && data.code === "no_active_device") {
        errorToast("Телефон не привязан — звонить с него нельзя.", ["/phone/", "Привязать на странице «Мой телефон»"]);
        return;
      }
      if (!r.ok) {
        const field = data && typeof data === "object" && !data.detail ? Object.values(data).flat()[0] : "";
        errorToast(data.detail || field || "Не удалось отправить номер на телефон. Попробуйте ещё раз.");
        return;
      }
      start(data, display);
    } catch {
      errorToast("Нет связи с CRM. Проверьте интернет и попробуйте ещё раз.");
    } finally {
      b.disabled = false;
    }
  };

  if (buttons.length && window.crmLive) {
    buttons.forEach((b) => {
      b.hidden = false;
      b.addEventListener("click", (e) => {
        e.preventDefault();
        call(b);
      });
    });
    window.crmLive.on("call_request", (d) => {
      if (current && d.id === current.id) advance(d.status);
      else if (!current) early.set(d.id, d.status);
    });
    window.crmLive.on("reset", async () => {
      if (!current) return;
      const r = await fetch("/api/call-requests/" + current.id + "/", json);
      if (r.ok) advance((await r.json()).status);
    });
  }

  // ------------------------------------------------------- «Мой телефон» --
  const page = document.querySelector("[data-testid=phone-page]");
  if (!page) return;
  let tick = 0;

  // refresh replaces the page's content with a fresh copy of itself.
  const refresh = async () => {
    const card = page.querySelector("[data-pairing]");
    if (!card) return;
    const r = await fetch("/phone/?pairing=" + card.dataset.pairing, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!r.ok) return;
    const doc = new DOMParser().parseFromString(await r.text(), "text/html");
    const fresh = doc.querySelector("[data-testid=phone-page]");
    if (!fresh) return;
    page.replaceChildren(...fresh.childNodes);
    arm();
  };

  const pad = (n) => String(n).padStart(2, "0");

  // arm starts the countdown of the pairing on the page, if any.
  const arm = () => {
    clearInterval(tick);
    const card = page.querySelector("[data-pairing]");
    if (!card) return;
    const status = card.dataset.pairingStatus;
    const out = card.querySelector("[data-countdown]");
    if (!out || (status !== "pending" && status !== "claimed")) return;
    const end = Date.parse(card.dataset.expiresAt);
    const show = () => {
      const left = Math.max(0, Math.round((end - Date.now()) / 1000));
      out.textContent = "Код действует ещё " + Math.floor(left / 60) + ":" + pad(left % 60);
      out.classList.toggle("is-ending", left <= 60);
      if (left <= 0) {
        clearInterval(tick);
        refresh();
      }
    };
    show();
    tick = setInterval(show, 1000);
  };

  if (window.crmLive) {
    window.crmLive.on("phone_pairing", (d) => {
      const card = page.querySelector("[data-pairing]");
      if (card && String(d.id) === card.dataset.pairing) refresh();
    });
    window.crmLive.on("reset", refresh);
  }
  arm();
})();
