// Bulk actions on the task list and the undo toast. The list leaves a
// <div data-bulk-toolbar> slot and a name="ids" checkbox per row; when rows
// are selected the toolbar offers «Перенести» (a date), «Переназначить»
// (a user) and «Выполнить» (a result), sends POST /api/tasks/bulk/ and
// shows «Перенесено 5 задач · Отменить» for 10 s (POST /api/tasks/bulk/undo/).
// The toast outlives the reload that shows the changed list: it is kept in
// sessionStorage with its deadline. window.crmUndoToast is shared with the
// desk's script.
(() => {
  "use strict";

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const UNDO_MS = 10000;
  const KEY = "crm-bulk-undo";

  // plural picks the Russian form for n: plural(5, "задача", "задачи", "задач").
  const plural = (n, one, few, many) => {
    const m10 = n % 10;
    const m100 = n % 100;
    if (m10 === 1 && m100 !== 11) return one;
    if (m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14)) return few;
    return many;
  };
  const tasks = (n) => n + " " + plural(n, "задача", "задачи", "задач");
  // said agrees the verb with the count: «Перенесена 1 задача»,
  // «Перенесены 2 задачи», «Перенесено 5 задач».
  const said = (stem) => (n) => stem + plural(n, "а", "ы", "о") + " " + tasks(n);

  const DONE_TEXT = {
    reschedule: said("Перенесен"),
    reassign: said("Переназначен"),
    complete: said("Выполнен"),
  };
  const UNDONE_TEXT = said("Восстановлен");

  // iconHref is the sprite path the page already uses (content-hashed).
  const iconHref = (id) => {
    const use = $("svg.icon use");
    const base = use ? (use.getAttribute("href") || "").split("#")[0] : "";
    return base + "#" + id;
  };

  const icon = (id) => {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const use = document.createElementNS(ns, "use");
    use.setAttribute("href", iconHref(id));
    svg.appendChild(use);
    return svg;
  };

  // postJSON sends body and resolves to {ok, status, data}.
  const postJSON = async (url, body) => {
    const resp = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    let data = {};
    try {
      data = await resp.json();
    } catch {
      data = {};
    }
    return { ok: resp.ok, status: resp.status, data };
  };

  // firstError is a readable message out of an error body: {"detail"} or
  // {"field": ["…"]}.
  const firstError = (data) => {
    if (!data) return "Не удалось выполнить действие.";
    if (typeof data.detail === "string") return data.detail;
    for (const k of Object.keys(data)) {
      const v = data[k];
      if (Array.isArray(v) && v.length) return String(v[0]);
    }
    return "Не удалось выполнить действие.";
  };

  // toast shows a message in the page's toast area for ms; actions are
  // [{label, run}] buttons inside it.
  const toast = (kind, text, ms, actions = []) => {
    const area = $(".toasts");
    if (!area) return null;
    const t = document.createElement("div");
    t.className = "toast toast-" + kind;
    t.setAttribute("role", kind === "error" ? "alert" : "status");
    t.dataset.testid = "toast";
    t.appendChild(icon(kind === "error" ? "i-close" : "i-check"));
    const body = document.createElement("div");
    body.className = "toast-text";
    body.textContent = text;
    t.appendChild(body);
    actions.forEach((a) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "toast-action";
      b.textContent = a.label;
      if (a.testid) b.dataset.testid = a.testid;
      b.addEventListener("click", () => a.run(t, b));
      t.appendChild(b);
    });
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Закрыть");
    close.appendChild(icon("i-close"));
    close.addEventListener("click", () => t.remove());
    t.appendChild(close);
    area.appendChild(t);
    let timer = setTimeout(() => t.remove(), ms);
    const until = Date.now() + ms;
    // Hovering or focusing keeps it; leaving gives it back its time.
    t.addEventListener("mouseenter", () => clearTimeout(timer));
    t.addEventListener("focusin", () => clearTimeout(timer));
    const resume = () => {
      clearTimeout(timer);
      timer = setTimeout(() => t.remove(), Math.max(1500, until - Date.now()));
    };
    t.addEventListener("mouseleave", resume);
    t.addEventListener("focusout", resume);
    return t;
  };

  // undoToast offers «Отменить» for the rest of ms; after a successful undo
  // then(text) runs with the message to show (the desk shows it and
  // refreshes itself; the list carries it over its reload).
  const undoToast = (text, token, ms, then) => {
    if (!token) return toast("success", text, 4000);
    return toast("success", text, ms, [
      {
        label: "Отменить",
        testid: "undo",
        run: async (t, button) => {
          button.disabled = true;
          button.textContent = "Отменяю…";
          sessionStorage.removeItem(KEY);
          const res = await postJSON("/api/tasks/bulk/undo/", { undo_token: token }).catch(() => null);
          t.remove();
          if (!res || !res.ok) {
            toast("error", res ? firstError(res.data) : "Нет связи с сервером.", 6000);
            return;
          }
          const n = (res.data.restored || []).length;
          const text = UNDONE_TEXT(n);
          if (then) then(text);
          else toast("success", text, 4000);
        },
      },
    ]);
  };
  window.crmUndoToast = (text, token, then) => undoToast(text, token, UNDO_MS, then);
  window.crmBulk = { postJSON, firstError, toast, tasks, said };

  // A toast carried over a reload.
  const pending = (() => {
    try {
      return JSON.parse(sessionStorage.getItem(KEY) || "null");
    } catch {
      return null;
    }
  })();
  if (pending && pending.until > Date.now()) {
    undoToast(pending.text, pending.token, pending.until - Date.now(), (text) => {
      sessionStorage.setItem(KEY, JSON.stringify({ text, token: "", until: Date.now() + 4000 }));
      location.reload();
    });
    if (pending.refused) toast("error", pending.refused, 8000);
  }
  sessionStorage.removeItem(KEY);

  // ------------------------------------------------------------ toolbar --
  const slot = $("[data-bulk-toolbar]");
  if (!slot) return;
  const boxes = () => $$('input[type="checkbox"][name="ids"]');
  const selected = () => boxes().filter((b) => b.checked).map((b) => Number(b.value));
  if (boxes().length === 0) return;


  slot.classList.add("bulk-toolbar");
  slot.setAttribute("role", "region");
  slot.setAttribute("aria-label", "Действия с выбранными задачами");
  slot.hidden = true;
  slot.innerHTML = `
    <span class="bulk-count" data-testid="bulk-count" aria-live="polite"></span>
    <form class="bulk-form" data-action="reschedule">
      <label for="bulk-date">Перенести на</label>
      <!-- dd.mm.yyyy text, not a date input: a picker shows the browser's locale (12/05/2026 in an English one). -->
      <input type="text" id="bulk-date" name="due_at" required placeholder="дд.мм.гггг" inputmode="numeric" autocomplete="off" maxlength="10">
      <button type="submit" class="btn btn-secondary btn-sm" data-testid="bulk-reschedule">Перенести</button>
    </form>
    <form class="bulk-form" data-action="reassign">
      <label for="bulk-user">Исполнитель</label>
      <select id="bulk-user" name="assigned_to" required><option value="">Выберите…</option></select>
      <button type="submit" class="btn btn-secondary btn-sm" data-testid="bulk-reassign">Переназначить</button>
    </form>
    <form class="bulk-form" data-action="complete">
      <label for="bulk-result">Результат</label>
      <input type="text" id="bulk-result" name="result" maxlength="10000" placeholder="Что сделано">
      <button type="submit" class="btn btn-primary btn-sm" data-testid="bulk-complete">Выполнить</button>
    </form>
    <button type="button" class="btn btn-ghost btn-sm" data-bulk-clear>Снять выделение</button>
    <p class="bulk-error field-error" data-testid="bulk-error" role="alert" hidden></p>`;

  const count = $(".bulk-count", slot);
  const errorBox = $(".bulk-error", slot);
  const sync = () => {
    const n = selected().length;
    slot.hidden = n === 0;
    count.textContent = "Выбрано: " + n;
    const all = $("input[data-bulk-all]");
    if (all) {
      all.checked = n > 0 && n === boxes().length;
      all.indeterminate = n > 0 && n < boxes().length;
    }
  };
  document.addEventListener("change", (e) => {
    const t = e.target;
    if (t.matches && t.matches("input[data-bulk-all]")) {
      boxes().forEach((b) => (b.checked = t.checked));
    }
    if (t.matches && t.matches('input[name="ids"], input[data-bulk-all]')) sync();
  });
  $("[data-bulk-clear]", slot).addEventListener("click", () => {
    boxes().forEach((b) => (b.checked = false));
    sync();
  });

  // The assignee select is filled on first use.
  let usersLoaded = false;
  const users = $("#bulk-user", slot);
  const loadUsers = async () => {
    if (usersLoaded) return;
    usersLoaded = true;
    try {
      const resp = await fetch("/api/users/?page_size=500&is_active=true", { credentials: "same-origin" });
      const data = await resp.json();
      (data.results || []).forEach((u) => {
        const o = document.createElement("option");
        o.value = u.id;
        o.textContent = [u.first_name, u.last_name].filter(Boolean).join(" ") || u.username;
        users.appendChild(o);
      });
    } catch {
      usersLoaded = false;
    }
  };
  users.addEventListener("focus", loadUsers);
  users.addEventListener("pointerdown", loadUsers);

  $$(".bulk-form", slot).forEach((form) =>
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const ids = selected();
      if (ids.length === 0) return;
      const action = form.dataset.action;
      const body = { ids, action };
      const fd = new FormData(form);
      if (action === "reschedule") body.due_at = fd.get("due_at");
      if (action === "reassign") body.assigned_to = Number(fd.get("assigned_to"));
      if (action === "complete") body.result = fd.get("result") || "";
      const button = $("button[type=submit]", form);
      button.disabled = true;
      errorBox.hidden = true;
      const res = await postJSON("/api/tasks/bulk/", body).catch(() => null);
      button.disabled = false;
      if (!res || !res.ok) {
        errorBox.textContent = res ? firstError(res.data) : "Нет связи с сервером.";
        errorBox.hidden = false;
        return;
      }
      const done = res.data.done || [];
      const refused = res.data.refused || [];
      const state = {
        text: DONE_TEXT[action](done.length),
        token: res.data.undo_token || "",
        until: Date.now() + UNDO_MS,
        refused: refused.length
          ? said("Не изменен")(refused.length) + ": " + refused.map((r) => "№" + r.id + ": " + r.detail).join("; ")
          : "",
      };
      sessionStorage.setItem(KEY, JSON.stringify(state));
      location.reload();
    }),
  );
  sync();
})();
