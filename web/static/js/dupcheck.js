// The company form's live duplicate check (view.duplicatePanel).
(() => {
  "use strict";

  // While a field that identifies a company is typed in (name, ИНН, КПП,
  // address, site, a phone, an e-mail), the panel asks GET
  // /api/companies/duplicates/ about the form as it is now, ~150 ms after
  // the typing pauses, and lists the likely duplicates with the reasons.
  // An older request still in flight is aborted and an answer that comes
  // after a newer one is dropped, so the list always matches the form.
  // Without the script the save check asks the same on «Создать».

  const DELAY = 150;
  const WATCHED = ["name", "inn", "kpp", "ogrn", "address", "website", "phone", "email"];
  const FIELD_LABELS = {
    inn: "ИНН",
    kpp: "КПП",
    ogrn: "ОГРН",
    name: "Название",
    address: "Адрес",
    phone: "Телефон",
    email: "E-mail",
    website: "Сайт",
  };

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c != null && c !== "") e.append(c);
    }
    return e;
  }

  // strength says how sure the match is in words a busy manager reads at
  // a glance; the percent is beside it (view.duplicateStrength). «вероятно»
  // starts where the save asks for confirmation (data-dup-likely).
  function strength(score, likely) {
    if (score >= 0.9) return { label: "почти наверняка", tone: "danger" };
    if (score >= likely) return { label: "вероятно", tone: "warning" };
    return { label: "возможно", tone: "neutral" };
  }

  // owner is what a match the user may not open says about itself: «уже
  // есть у Веры Поповой» — the server declines the name
  // (responsible_genitive), as it does on the page it renders.
  function owner(m) {
    const who = m.responsible_genitive || m.responsible_name;
    return who ? "уже есть у " + who : "уже есть у коллеги";
  }

  function reasonChip(r) {
    const label = FIELD_LABELS[r.field] || r.field;
    return el(
      "li",
      { class: "dup-reason", "data-field": r.field, "data-testid": "dup-reason" },
      el("span", { class: "dup-reason-field" }, label),
      r.detail ? " " + r.detail : "",
    );
  }

  function matchItem(m, mergeBase, likely) {
    const s = strength(m.score || 0, likely);
    const percent = Math.round((m.score || 0) * 100);
    const name = m.accessible
      ? el(
          "a",
          { href: "/companies/" + m.id + "/", target: "_blank", rel: "noopener", class: "dup-name", "data-testid": "dup-name" },
          m.name,
          el("span", { class: "visually-hidden" }, " (откроется в новой вкладке)"),
        )
      : el("span", { class: "dup-name", "data-testid": "dup-name" }, m.name);
    const facts = [];
    if (m.accessible) {
      const code = [m.inn, m.kpp].filter(Boolean).join(" / ");
      if (code) facts.push("ИНН " + code);
      if (m.responsible_name) facts.push(m.responsible_name);
    }
    const item = el(
      "li",
      { class: "dup-item", "data-testid": "dup-item", "data-id": String(m.id) },
      el(
        "div",
        { class: "dup-head" },
        name,
        el("span", { class: "badge badge-" + s.tone + " dup-score", "data-testid": "dup-score" }, s.label + ", " + percent + "\u00a0%"),
      ),
    );
    if (facts.length) item.append(el("p", { class: "dup-facts" }, facts.join(" · ")));
    if (m.accessible && m.address) item.append(el("p", { class: "dup-facts", title: m.address }, m.address));
    if (!m.accessible) item.append(el("p", { class: "dup-owner", "data-testid": "dup-owner" }, owner(m)));
    if (m.reasons && m.reasons.length) {
      item.append(el("ul", { class: "dup-reasons", "aria-label": "Почему похожа" }, ...m.reasons.map(reasonChip)));
    }
    if (m.accessible && mergeBase) {
      item.append(
        el(
          "a",
          { class: "btn btn-secondary btn-sm dup-merge", href: mergeBase + "?with=" + m.id, "data-testid": "dup-merge" },
          "Объединить",
          el("span", { class: "visually-hidden" }, " с «" + m.name + "»"),
        ),
      );
    }
    return item;
  }

  function show(panel, results) {
    if (!results.length) {
      panel.replaceChildren();
      return;
    }
    const n = results.length;
    const likely = Number(panel.dataset.dupLikely) || 0.6;
    const title = n === 1 ? "Похожая компания уже есть" : "Похожие компании уже есть: " + n;
    panel.replaceChildren(
      el(
        "section",
        { class: "dup-box", "aria-labelledby": "dup-title", tabindex: "0" },
        el("h2", { class: "dup-title", id: "dup-title" }, title),
        el(
          "p",
          { class: "dup-hint" },
          panel.dataset.dupMerge
            ? "Если это одна и та же компания, их можно объединить."
            : "Проверьте, не заводите ли вы её второй раз.",
        ),
        el(
          "ul",
          { class: "dup-list", "data-testid": "dup-list" },
          ...results.map((m) => matchItem(m, panel.dataset.dupMerge, likely)),
        ),
      ),
    );
  }

  // query is the form as the API wants it; empty when nothing is typed.
  function query(form, panel, focused) {
    const q = new URLSearchParams();
    for (const name of ["name", "inn", "kpp", "ogrn", "address", "website"]) {
      const f = form.elements.namedItem(name);
      const v = f && "value" in f ? f.value.trim() : "";
      if (v) q.append(name, v);
    }
    for (const name of ["phone", "email"]) {
      // The field being typed in goes first, for an API that reads one.
      const vals = [...form.querySelectorAll('[name="' + name + '"]')]
        .sort((a, b) => (b === focused) - (a === focused))
        .map((f) => f.value.trim())
        .filter(Boolean);
      for (const v of vals) q.append(name, v);
    }
    if ([...q.keys()].length === 0) return null;
    if (panel.dataset.dupExclude) q.set("exclude", panel.dataset.dupExclude);
    return q;
  }

  function init(panel) {
    const form = panel.closest("form");
    if (!form) return;
    let timer = 0;
    const ask = window.crmLatest();
    let lastQuery = "";

    const check = async (focused) => {
      const q = query(form, panel, focused);
      const key = q ? q.toString() : "";
      if (key === lastQuery) return;
      lastQuery = key;
      if (!q) {
        ask.cancel();
        show(panel, []);
        return;
      }
      try {
        const got = await ask.get(panel.dataset.dupUrl + "?" + key, { headers: { Accept: "application/json" } }, (r) => {
          if (!r.ok) throw new Error("status " + r.status);
          return r.json();
        });
        if (!got) return; // a newer question was asked meanwhile
        show(panel, Array.isArray(got.body.results) ? got.body.results : []);
      } catch {
        // The save check still guards; an unknown state is not shown as «no duplicates».
        lastQuery = "";
      }
    };

    const schedule = (ev) => {
      const t = ev.target;
      if (!t || !WATCHED.includes(t.name)) return;
      clearTimeout(timer);
      timer = setTimeout(() => check(t), DELAY);
    };
    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    // The edit form (and a form sent back with errors) already holds
    // values: show their duplicates at once. Not on the confirmation page,
    // which lists them itself.
    if (!form.querySelector("[data-dup-confirm]")) check(null);
  }

  function start() {
    document.querySelectorAll("[data-dup-panel]").forEach(init);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
