// The desk, live: the page re-reads its body (GET /desk/?fragment=body)
// when the live stream says a task or the counts changed — no polling —
// and does its quick actions in place: «Выполнить» posts the result as
// JSON, «Перенести» goes through the bulk API and offers «Отменить».
// Without the script the same forms post and come back to /desk/.
(() => {
  "use strict";

  const desk = document.querySelector("[data-desk]");
  if (!desk) return;
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const DEBOUNCE_MS = 300;

  // busy: someone is typing a result or has a menu open — a refresh now
  // would throw their input away; it waits until they are done.
  const busy = () =>
    $$("details[data-desk-action][open]", desk).length > 0 ||
    (desk.contains(document.activeElement) && document.activeElement.matches("textarea, input"));

  let timer = null;
  let waiting = false;
  const body = window.crmLatest();

  const refresh = async () => {
    if (busy()) {
      waiting = true;
      return;
    }
    waiting = false;
    desk.setAttribute("aria-busy", "true");
    try {
      const got = await body.get("/desk/?fragment=body", { headers: { Accept: "text/html" } }, (r) => r.text());
      if (got && got.resp.ok) {
        if (busy()) {
          waiting = true;
        } else {
          desk.innerHTML = got.body;
          desk.dispatchEvent(new CustomEvent("desk:refreshed", { bubbles: true }));
        }
      }
    } catch {
      // A refresh cut short (navigation, the network) changes nothing.
    } finally {
      if (!body.busy()) desk.setAttribute("aria-busy", "false");
    }
  };

  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, DEBOUNCE_MS);
  };
  window.crmDeskRefresh = refresh;

  if (window.crmLive) {
    window.crmLive.on("desk", schedule);
    window.crmLive.on("task", schedule);
    window.crmLive.on("reset", schedule);
  }

  // A refresh that waited runs when the menu closes or the field loses focus.
  desk.addEventListener(
    "toggle",
    (e) => {
      if (!e.target.open && waiting) schedule();
    },
    true,
  );
  desk.addEventListener("focusout", () => {
    if (waiting) setTimeout(() => waiting && schedule(), 50);
  });

  // Only one quick-action menu is open at a time; Esc closes it.
  desk.addEventListener(
    "toggle",
    (e) => {
      const d = e.target;
      if (!d.matches || !d.matches("details[data-desk-action]") || !d.open) return;
      $$("details[data-desk-action][open]", desk).forEach((o) => o !== d && (o.open = false));
      const field = $("textarea, input[data-date]", d);
      if (field) field.focus();
    },
    true,
  );
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    const open = $("details[data-desk-action][open]", desk);
    if (!open) return;
    open.open = false;
    $("summary", open).focus();
  });
  document.addEventListener("pointerdown", (e) => {
    $$("details[data-desk-action][open]", desk).forEach((d) => {
      if (!d.contains(e.target)) d.open = false;
    });
  });

  const bulk = window.crmBulk;
  const showError = (form, text) => {
    let p = $(".field-error", form);
    if (!p) {
      p = document.createElement("p");
      p.className = "field-error";
      p.setAttribute("role", "alert");
      form.appendChild(p);
    }
    p.textContent = text;
  };

  desk.addEventListener("submit", async (e) => {
    const form = e.target;
    if (!bulk || !(form instanceof HTMLFormElement)) return;
    const complete = form.matches("[data-desk-complete]");
    const reschedule = form.matches("[data-desk-reschedule]");
    if (!complete && !reschedule) return;
    e.preventDefault();
    const button = $("button[type=submit]", form);
    if (button) button.disabled = true;
    const fd = new FormData(form);
    let res = null;
    try {
      if (complete) {
        const url = "/api" + form.getAttribute("action");
        res = await bulk.postJSON(url, { result: fd.get("result") || "" });
      } else {
        res = await bulk.postJSON("/api/tasks/bulk/", {
          ids: [Number(fd.get("ids"))],
          action: "reschedule",
          due_at: fd.get("due_at"),
        });
        if (res.ok && (res.data.refused || []).length) {
          res = { ok: false, data: { detail: res.data.refused[0].detail } };
        }
      }
    } catch {
      res = null;
    }
    if (button) button.disabled = false;
    if (!res || !res.ok) {
      showError(form, res ? bulk.firstError(res.data) : "Нет связи с сервером.");
      return;
    }
    const details = form.closest("details");
    if (details) details.open = false;
    if (complete) {
      bulk.toast("success", res.data.next ? "Задача выполнена, следующая создана" : "Задача выполнена", 4000);
    } else {
      window.crmUndoToast("Задача перенесена", res.data.undo_token, (text) => {
        bulk.toast("success", text, 4000);
        refresh();
      });
    }
    refresh();
  });
})();
