// CRM ПРОФИ — our own small script. Progressive enhancement only: every page
// works without it; this adds the off-canvas menu, keyboard shortcuts,
// confirmations, busy buttons, toasts, the multiselect filter, clickable
// table rows and auto-submitting filters. Loaded with `defer`, so the DOM is
// parsed when it runs. No libraries, ES2020.
(() => {
  "use strict";

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  const FOCUSABLE =
    'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

  // isTyping reports whether keyboard input currently goes into a field.
  const isTyping = (el) =>
    !!el &&
    (el.isContentEditable ||
      el.tagName === "TEXTAREA" ||
      el.tagName === "SELECT" ||
      (el.tagName === "INPUT" &&
        !["checkbox", "radio", "button", "submit", "reset"].includes(el.type)));

  const visible = (el) => el.getClientRects().length > 0;

  document.documentElement.classList.add("js");

  // ---------------------------------------------------- off-canvas menu --
  function initMenu() {
    const toggle = $("[data-menu-toggle]");
    const rail = $(".rail");
    if (!toggle || !rail) return;

    let scrim = $(".scrim");
    if (!scrim) {
      scrim = document.createElement("div");
      scrim.className = "scrim";
      scrim.hidden = true;
      document.body.appendChild(scrim);
    }
    const isOpen = () => rail.classList.contains("open");

    const open = () => {
      rail.classList.add("open");
      toggle.setAttribute("aria-expanded", "true");
      scrim.hidden = false;
      document.body.classList.add("menu-open");
      // Focus the current item (or the first link) once the drawer is visible.
      const target = $('[aria-current="page"]', rail) || $(FOCUSABLE, rail);
      requestAnimationFrame(() => (target || rail).focus());
    };

    const close = (restoreFocus = true) => {
      if (!isOpen()) return;
      rail.classList.remove("open");
      toggle.setAttribute("aria-expanded", String(isOpen()));
      scrim.hidden = true;
      document.body.classList.remove("menu-open");
      if (restoreFocus && visible(toggle)) toggle.focus();
    };

    toggle.setAttribute("aria-expanded", String(isOpen()));
    toggle.addEventListener("click", () => (isOpen() ? close() : open()));
    scrim.addEventListener("click", () => close());
    $$("[data-menu-close]", rail).forEach((b) => b.addEventListener("click", () => close()));

    // Navigation closes the drawer (the page is about to change anyway, but
    // in-page links and bfcache restores should not find it open).
    rail.addEventListener("click", (e) => {
      if (e.target.closest("a[href]")) close(false);
    });

    // Outside tap.
    document.addEventListener("pointerdown", (e) => {
      if (isOpen() && !rail.contains(e.target) && !toggle.contains(e.target)) close(false);
    });

    document.addEventListener("keydown", (e) => {
      if (!isOpen()) return;
      if (e.key === "Escape") {
        e.preventDefault();
        close();
        return;
      }
      // Keep Tab inside the open drawer.
      if (e.key === "Tab") {
        const items = $$(FOCUSABLE, rail).filter(visible);
        if (items.length === 0) return;
        const first = items[0];
        const last = items[items.length - 1];
        if (e.shiftKey && (document.activeElement === first || !rail.contains(document.activeElement))) {
          e.preventDefault();
          last.focus();
        } else if (!e.shiftKey && document.activeElement === last) {
          e.preventDefault();
          first.focus();
        }
      }
    });

    // Growing past the breakpoint turns the drawer back into the rail.
    const wide = window.matchMedia("(min-width: 768px)");
    wide.addEventListener("change", () => wide.matches && close(false));
    window.addEventListener("pageshow", (e) => e.persisted && close(false));
  }

  // ------------------------------------------------------ global search --
  function initSearchShortcut() {
    const search = $("#global-search");
    if (!search) return;
    document.addEventListener("keydown", (e) => {
      // Ctrl+K / Cmd+K anywhere; e.code keeps it working on the Russian layout.
      const k = (e.ctrlKey || e.metaKey) && !e.altKey && (e.code === "KeyK" || e.key.toLowerCase() === "k");
      const slash = e.key === "/" && !e.ctrlKey && !e.metaKey && !e.altKey && !isTyping(e.target);
      if (!k && !slash) return;
      if ($("dialog[open]")) return;
      e.preventDefault();
      search.focus();
      search.select();
    });
  }

  // ------------------------------------------------ confirmation dialog --
  let dialog = null;

  function buildDialog() {
    const d = document.createElement("dialog");
    d.className = "dialog";
    d.setAttribute("aria-labelledby", "confirm-title");
    d.setAttribute("aria-describedby", "confirm-body");
    d.setAttribute("data-testid", "confirm-dialog");
    d.innerHTML =
      '<div class="dialog-head">' +
      '<h2 class="dialog-title" id="confirm-title"></h2>' +
      '<button type="button" class="dialog-close" aria-label="Закрыть" data-action="cancel">' +
      '<svg class="icon" aria-hidden="true" focusable="false"><path d="M6.3 4.9 12 10.6l5.7-5.7a1 1 0 0 1 1.4 1.4L13.4 12l5.7 5.7a1 1 0 0 1-1.4 1.4L12 13.4l-5.7 5.7a1 1 0 0 1-1.4-1.4l5.7-5.7-5.7-5.7a1 1 0 0 1 1.4-1.4z"/></svg>' +
      "</button></div>" +
      '<p class="dialog-body" id="confirm-body"></p>' +
      '<div class="dialog-actions">' +
      '<button type="button" class="btn btn-secondary" data-action="cancel" data-testid="confirm-cancel">Отмена</button>' +
      '<button type="button" class="btn" data-action="ok" data-testid="confirm-ok"></button>' +
      "</div>";
    document.body.appendChild(d);
    return d;
  }

  // ask shows a modal question and resolves to true when confirmed. Esc,
  // the cross, «Отмена» and a click outside all cancel.
  function ask(question, okText, danger) {
    if (typeof HTMLDialogElement !== "function") {
      return Promise.resolve(window.confirm(question));
    }
    dialog = dialog || buildDialog();
    const d = dialog;
    // «Удалить компанию? Заметки останутся.» → a short title and an explanation.
    const cut = question.search(/\?\s/);
    const title = cut > 0 ? question.slice(0, cut + 1) : question;
    const detail = cut > 0 ? question.slice(cut + 1).trim() : "";
    $(".dialog-title", d).textContent = title;
    const body = $(".dialog-body", d);
    body.textContent = detail;
    body.hidden = !detail;
    const ok = $('[data-action="ok"]', d);
    ok.textContent = okText;
    ok.className = "btn " + (danger ? "btn-danger" : "btn-primary");

    return new Promise((resolve) => {
      const done = (result) => {
        d.removeEventListener("click", onClick);
        d.removeEventListener("cancel", onCancel);
        d.removeEventListener("close", onClose);
        if (d.open) d.close();
        resolve(result);
      };
      const onClick = (e) => {
        const action = e.target.closest("[data-action]");
        if (action) {
          done(action.dataset.action === "ok");
          return;
        }
        // A click on the dialog element itself, outside its box, is the backdrop.
        if (e.target === d) {
          const r = d.getBoundingClientRect();
          const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
          if (!inside) done(false);
        }
      };
      const onCancel = (e) => {
        e.preventDefault();
        done(false);
      };
      const onClose = () => done(false);
      d.addEventListener("click", onClick);
      d.addEventListener("cancel", onCancel);
      d.addEventListener("close", onClose);
      d.showModal();
      // The safe choice has focus; the destructive one is never first.
      $('[data-testid="confirm-cancel"]', d).focus();
    });
  }

  // --------------------------------------------- form submit: confirm, busy --
  const confirmed = new WeakSet();

  function submitButtons(form) {
    return $$('button:not([type]), button[type="submit"], input[type="submit"]', form).concat(
      form.id ? $$(`[form="${CSS.escape(form.id)}"][type="submit"]`) : []
    );
  }

  function setBusy(form, submitter) {
    const buttons = submitButtons(form);
    const shown = submitter && buttons.includes(submitter) ? submitter : buttons[0];
    // Disable after the browser has built the form data set, so the
    // submitter's own name=value still goes with the request.
    setTimeout(() => {
      buttons.forEach((b) => {
        b.disabled = true;
      });
      if (shown) {
        const text = shown.dataset.busyText || "Сохраняю…";
        if (shown.tagName === "INPUT") {
          shown.dataset.idleText = shown.value;
          shown.value = text;
        } else {
          shown.dataset.idleHtml = shown.innerHTML;
          shown.textContent = text;
        }
        shown.setAttribute("aria-busy", "true");
      }
    }, 0);
    form.dataset.busy = "true";
    // A download or a request that never navigates must not leave the form dead.
    setTimeout(() => clearBusy(form), 20000);
  }

  function clearBusy(form) {
    if (!form.dataset.busy) return;
    delete form.dataset.busy;
    submitButtons(form).forEach((b) => {
      b.disabled = false;
      if (b.dataset.idleHtml !== undefined) {
        b.innerHTML = b.dataset.idleHtml;
        delete b.dataset.idleHtml;
      }
      if (b.dataset.idleText !== undefined) {
        b.value = b.dataset.idleText;
        delete b.dataset.idleText;
      }
      b.removeAttribute("aria-busy");
    });
  }

  function initForms() {
    document.addEventListener("submit", (e) => {
      const form = e.target;
      if (!(form instanceof HTMLFormElement)) return;
      const submitter = e.submitter || null;

      if (form.hasAttribute("data-confirm") && !confirmed.has(form)) {
        e.preventDefault();
        const danger =
          form.hasAttribute("data-confirm-danger") ||
          (submitter && (submitter.classList.contains("btn-danger") || submitter.classList.contains("btn-danger-outline")));
        const okText =
          form.dataset.confirmOk || (submitter && submitter.textContent.trim()) || "Подтвердить";
        ask(form.dataset.confirm || "Вы уверены?", okText, danger).then((yes) => {
          if (!yes) {
            if (submitter) submitter.focus();
            return;
          }
          confirmed.add(form);
          if (typeof form.requestSubmit === "function") {
            form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
          } else {
            form.submit();
          }
        });
        return;
      }
      confirmed.delete(form);
      if (e.defaultPrevented) return;

      // A second submit while the first is on its way is dropped.
      if (form.dataset.busy) {
        e.preventDefault();
        return;
      }
      const method = (form.getAttribute("method") || "get").toLowerCase();
      const explicit = submitter ? submitter.hasAttribute("data-busy-text") : !!$("[data-busy-text]", form);
      if ((method === "post" || explicit) && !form.target && !form.hasAttribute("data-no-busy")) {
        setBusy(form, submitter);
      }
    });

    // Coming back through the history must find buttons usable again.
    window.addEventListener("pageshow", (e) => {
      if (e.persisted) $$("form[data-busy]").forEach(clearBusy);
    });
  }

  // ------------------------------------------------------------- toasts --
  const TOAST_MS = 4000;

  function dismissToast(t) {
    if (t.classList.contains("is-leaving")) return;
    t.classList.add("is-leaving");
    const remove = () => t.remove();
    t.addEventListener("animationend", remove, { once: true });
    setTimeout(remove, 400); // reduced motion or no animation
  }

  function armToast(t) {
    const close = $(".toast-close", t);
    if (close) {
      close.hidden = false;
      close.addEventListener("click", () => dismissToast(t));
    }
    // Pause while the pointer or focus is on the toast, so it can be read.
    let timer = null;
    const start = () => {
      clearTimeout(timer);
      timer = setTimeout(() => dismissToast(t), TOAST_MS);
    };
    const stop = () => clearTimeout(timer);
    t.addEventListener("mouseenter", stop);
    t.addEventListener("mouseleave", start);
    t.addEventListener("focusin", stop);
    t.addEventListener("focusout", start);
    start();
  }

  function initToasts() {
    $$(".toast").forEach(armToast);
  }

  // -------------------------------------------------------- multiselect --
  // fold makes matching case-insensitive and treats ё as е.
  const fold = (s) => s.toLocaleLowerCase("ru").replace(/ё/g, "е").replace(/\s+/g, " ").trim();

  function initMultiselect(root) {
    const search = $(".multiselect-search", root);
    const list = $(".multiselect-list", root) || root;
    const summary = $(".multiselect-summary", root);
    const none = $(".multiselect-none", root);
    const labels = $$("label", list).filter((l) => $('input[type="checkbox"]', l));
    if (labels.length === 0) return;
    const original = labels.slice();
    const keys = new Map(labels.map((l) => [l, fold(l.textContent)]));
    const box = (l) => $('input[type="checkbox"]', l);

    const count = () => {
      if (!summary) return;
      const n = labels.filter((l) => box(l).checked).length;
      summary.textContent = "Выбрано: " + n;
    };

    // Checked items first, each group in the original order.
    const reorder = () => {
      const checked = original.filter((l) => box(l).checked);
      const rest = original.filter((l) => !box(l).checked);
      const anchor = none && none.parentNode === list ? none : null;
      checked.concat(rest).forEach((l) => list.insertBefore(l, anchor));
    };

    const filter = () => {
      const q = search ? fold(search.value) : "";
      let shown = 0;
      labels.forEach((l) => {
        const show = !q || keys.get(l).includes(q) || box(l).checked;
        l.hidden = !show;
        if (show) shown++;
      });
      if (none) none.hidden = shown > 0;
    };

    if (search) {
      search.hidden = false;
      search.addEventListener("input", () => {
        reorder();
        filter();
      });
      // Enter in the filter box must not submit the surrounding form.
      search.addEventListener("keydown", (e) => {
        if (e.key === "Enter") e.preventDefault();
        if (e.key === "Escape" && search.value) {
          e.preventDefault();
          search.value = "";
          reorder();
          filter();
        }
      });
    }
    list.addEventListener("change", count);
    root.classList.add("is-enhanced");
    reorder();
    filter();
    count();
  }

  // --------------------------------------------------- clickable rows --
  function sameOrigin(href) {
    try {
      return new URL(href, location.href).origin === location.origin;
    } catch {
      return false;
    }
  }

  const INTERACTIVE = "a, button, input, select, textarea, label, summary, details, [data-no-row-click]";

  function initRows() {
    const go = (tr, newTab) => {
      const href = tr.dataset.href;
      if (!href || !sameOrigin(href)) return;
      if (newTab) window.open(href, "_blank", "noopener");
      else location.assign(href);
    };

    // Rows without a link inside become focusable so Enter can open them.
    $$("tr[data-href]").forEach((tr) => {
      if (!$("a[href]", tr) && !tr.hasAttribute("tabindex")) tr.tabIndex = 0;
    });

    document.addEventListener("click", (e) => {
      const tr = e.target.closest("tr[data-href]");
      if (!tr || e.target.closest(INTERACTIVE)) return;
      // Selecting text in a cell is not a click on the row.
      if (String(window.getSelection && window.getSelection())) return;
      go(tr, e.ctrlKey || e.metaKey || e.shiftKey);
    });
    document.addEventListener("auxclick", (e) => {
      const tr = e.target.closest("tr[data-href]");
      if (e.button === 1 && tr && !e.target.closest(INTERACTIVE)) go(tr, true);
    });
    document.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" || !(e.target instanceof Element)) return;
      if (e.target.matches("tr[data-href]")) {
        e.preventDefault();
        go(e.target, e.ctrlKey || e.metaKey);
      }
    });
  }

  // ------------------------------------------------------- autosubmit --
  function initAutosubmit() {
    document.addEventListener("change", (e) => {
      const el = e.target;
      if (!(el instanceof Element) || !el.matches("select[data-autosubmit], input[data-autosubmit]")) return;
      const form = el.form;
      if (!form) return;
      if (typeof form.requestSubmit === "function") form.requestSubmit();
      else form.submit();
    });
  }

  // ------------------------------------------------------ filters fold --
  // Wide screens show the filters; phones fold them behind «Фильтры (N)».
  // The stylesheet already shows a closed fold's content on wide screens
  // where the browser can style it; opening it here covers the rest.
  function initFiltersFold() {
    const folds = $$("[data-filters-fold]");
    if (folds.length === 0) return;
    const wide = window.matchMedia("(min-width: 768px)");
    const sync = () => folds.forEach((d) => (d.open = wide.matches));
    sync();
    wide.addEventListener("change", sync);
  }

  // ---------------------------------------------------------- «⋯» menu --
  function initMoreMenus() {
    const menus = $$("[data-more-menu]");
    if (menus.length === 0) return;
    document.addEventListener("pointerdown", (e) => {
      menus.forEach((m) => {
        if (m.open && !m.contains(e.target)) m.open = false;
      });
    });
    document.addEventListener("keydown", (e) => {
      if (e.key !== "Escape") return;
      menus.forEach((m) => {
        if (!m.open) return;
        m.open = false;
        $("summary", m).focus();
      });
    });
  }

  // ---------------------------------------------------- form conveniences --
  // focusFirstInvalid puts the cursor into the first field the server
  // refused, so the person starts where the problem is.
  function focusFirstInvalid() {
    const bad = $$('form [aria-invalid="true"]').find(visible);
    if (!bad) return;
    bad.focus({ preventScroll: true });
    bad.scrollIntoView({ block: "center" });
  }

  // guessPhoneKind says «mobile» for a Russian mobile number (+7 9xx…,
  // 8 9xx…, 9xx… of ten digits) and «work» for another number; "" while
  // too little is typed to tell.
  function guessPhoneKind(value) {
    const d = value.replace(/\D/g, "");
    if (d.length < 4) return "";
    if (/^[78]9/.test(d) || (d.length === 10 && d[0] === "9")) return "mobile";
    return "work";
  }

  // A phone row's kind follows the number typed until the person picks a
  // kind themselves; a stored number keeps its stored kind.
  function initPhoneKinds(root) {
    $$("[data-phone-kind]", root).forEach((sel) => {
      const row = sel.closest("[data-repeat-row]");
      const input = row && $("[data-phone-input]", row);
      if (!input) return;
      if (input.value.trim() !== "") sel.dataset.kindTouched = "1";
      sel.addEventListener("change", () => (sel.dataset.kindTouched = "1"));
      input.addEventListener("input", () => {
        if (sel.dataset.kindTouched) return;
        const kind = guessPhoneKind(input.value);
        if (kind && $$("option", sel).some((o) => o.value === kind)) sel.value = kind;
      });
    });
  }

  // Repeatable rows (phones, e-mails): the server renders the filled rows
  // and one empty one; «+ ещё телефон» adds another empty row.
  function initRepeat(box) {
    const add = $("[data-repeat-add]", box);
    if (!add) return;
    add.hidden = false;
    add.addEventListener("click", () => {
      const rows = $$("[data-repeat-row]", box);
      const last = rows[rows.length - 1];
      const row = last.cloneNode(true);
      const n = rows.length; // the new row's index
      $$("input", row).forEach((i) => {
        i.value = "";
        i.removeAttribute("aria-invalid");
        i.removeAttribute("aria-describedby");
      });
      $$("select", row).forEach((sel) => {
        delete sel.dataset.kindTouched;
        if (sel.dataset.defaultKind) sel.value = sel.dataset.defaultKind;
      });
      // Ids and labels end in the row number: "f-phone-0" → "f-phone-1".
      $$("[id]", row).forEach((el) => (el.id = el.id.replace(/-\d+$/, "-" + n)));
      $$("label[for]", row).forEach((l) => l.setAttribute("for", l.getAttribute("for").replace(/-\d+$/, "-" + n)));
      $$("[aria-label]", row).forEach((el) =>
        el.setAttribute("aria-label", el.getAttribute("aria-label").replace(/\d+$/, String(n + 1)))
      );
      $$("label", row).forEach((l) => (l.textContent = l.textContent.replace(/\d+$/, String(n + 1))));
      last.after(row);
      initPhoneKinds(row);
      const first = $("input", row);
      if (first) first.focus();
    });
  }

  initMenu();
  initFiltersFold();
  initMoreMenus();
  focusFirstInvalid();
  initPhoneKinds(document);
  $$("[data-repeat]").forEach(initRepeat);
  initSearchShortcut();
  initForms();
  initToasts();
  $$("[data-multiselect]").forEach(initMultiselect);
  initRows();
  initAutosubmit();
})();

// ======================================================================
// Command palette and live progress bars (issue 6, "palette").
// A section of its own: it shares nothing with the script above but the
// page. Progressive enhancement as everywhere: without it the header
// search box still searches, and nothing waits on a progress bar.
// ======================================================================
(() => {
  "use strict";

  // ------------------------------------------------- command palette --
  // Ctrl+K (Cmd+K), or «/» when not typing, opens the dialog rendered by
  // web/view/palette.templ. Suggestions come from GET /api/search/ (debounced,
  // stale requests aborted); the combobox/listbox ARIA pattern keeps focus
  // in the box while arrows move the active option.
  function initPalette() {
    const dialog = document.querySelector("[data-palette]");
    if (!dialog || typeof dialog.showModal !== "function") return;
    const form = dialog.querySelector("form");
    const input = dialog.querySelector('[role="combobox"]');
    const list = dialog.querySelector('[role="listbox"]');
    const status = dialog.querySelector('[role="status"]');
    const DEBOUNCE = 120;
    let opener = null;
    let timer = 0;
    let inflight = null;
    let active = -1;
    let lastQuery = null;
    let leaving = false; // an option was chosen: the page is going there

    const options = () => Array.from(list.querySelectorAll('[role="option"]'));

    const typing = (el) =>
      !!el &&
      (el.isContentEditable ||
        el.tagName === "TEXTAREA" ||
        el.tagName === "SELECT" ||
        (el.tagName === "INPUT" && !["checkbox", "radio", "button", "submit", "reset"].includes(el.type)));

    const open = () => {
      if (dialog.open) {
        input.focus();
        input.select();
        return;
      }
      opener = document.activeElement;
      dialog.showModal();
      setActive(-1);
      input.focus();
      input.select();
      if (input.value.trim() && lastQuery !== input.value.trim()) schedule(0);
    };

    const close = () => {
      if (!dialog.open) return;
      dialog.close();
    };

    // The dialog closes by Esc (the browser's cancel), the cross, a click on
    // the backdrop or navigation; focus goes back to whoever opened it.
    dialog.addEventListener("close", () => {
      clearTimeout(timer);
      if (inflight) inflight.abort();
      inflight = null;
      if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
      opener = null;
    });
    dialog.addEventListener("click", (e) => {
      if (e.target === dialog) close(); // the backdrop: outside the dialog's box
    });
    dialog.querySelector("[data-palette-close]").addEventListener("click", close);

    // Capture phase on window: this runs before the header box's own
    // shortcut (which focuses that box) and stops it; the header box stays
    // the shortcut's target wherever there is no palette.
    window.addEventListener(
      "keydown",
      (e) => {
        const k = (e.ctrlKey || e.metaKey) && !e.altKey && (e.code === "KeyK" || e.key.toLowerCase() === "k");
        const slash = e.key === "/" && !e.ctrlKey && !e.metaKey && !e.altKey && !typing(e.target);
        if (!k && !slash) return;
        const other = document.querySelector("dialog[open]");
        if (other && other !== dialog) return; // one dialog at a time
        e.preventDefault();
        e.stopPropagation();
        open();
      },
      true,
    );

    const setActive = (i) => {
      const opts = options();
      opts.forEach((o, j) => o.setAttribute("aria-selected", String(j === i)));
      active = i;
      if (i >= 0 && opts[i]) {
        input.setAttribute("aria-activedescendant", opts[i].id);
        opts[i].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    };

    const go = (opt, newTab) => {
      const url = opt && opt.dataset.url;
      if (!url || !url.startsWith("/") || url.startsWith("//")) return;
      if (newTab) {
        window.open(url, "_blank", "noopener");
        return;
      }
      leaving = true;
      close();
      location.assign(url);
    };
    window.addEventListener("pageshow", () => (leaving = false));

    const el = (tag, cls, text) => {
      const n = document.createElement(tag);
      if (cls) n.className = cls;
      if (text) n.textContent = text;
      return n;
    };

    // render shows the answer; all text goes in as text, never as HTML.
    const render = (q, data) => {
      list.replaceChildren();
      let n = 0;
      const option = (url, cls) => {
        const li = el("li", cls);
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.id = "palette-opt-" + n++;
        li.dataset.url = url;
        li.dataset.testid = "palette-option";
        return li;
      };
      for (const kind of data.kinds || []) {
        const group = el("li", "palette-group", kind.label);
        group.setAttribute("role", "presentation");
        list.appendChild(group);
        for (const r of data.results.filter((x) => x.type === kind.type)) {
          const li = option(r.url, "palette-option");
          const text = el("span", "palette-text");
          text.appendChild(el("span", "palette-title", r.title));
          if (r.subtitle) text.appendChild(el("span", "palette-sub", r.subtitle));
          li.appendChild(text);
          if (r.match && r.match.label) {
            const chip = el("span", "palette-chip", r.match.label);
            chip.dataset.testid = "palette-match";
            li.appendChild(chip);
          }
          list.appendChild(li);
        }
        const all = option(kind.url, "palette-option palette-all");
        all.appendChild(el("span", "palette-title", "Все результаты: " + kind.label.toLowerCase() + (kind.more ? " (есть ещё)" : "") + " →"));
        all.dataset.testid = "palette-all";
        list.appendChild(all);
      }
      const found = (data.results || []).length;
      input.setAttribute("aria-expanded", String(n > 0));
      status.textContent = !q ? "" : found ? "Найдено: " + found + ". Стрелки — выбрать, Enter — открыть." : "Ничего не найдено по запросу «" + q + "».";
      setActive(-1);
    };

    const search = async (q) => {
      if (inflight) inflight.abort();
      lastQuery = q;
      if (!q) {
        inflight = null;
        render("", { results: [], kinds: [] });
        return;
      }
      const ctrl = new AbortController();
      inflight = ctrl;
      dialog.setAttribute("aria-busy", "true");
      try {
        const res = await fetch("/api/search/?q=" + encodeURIComponent(q), {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
          signal: ctrl.signal,
        });
        if (!res.ok) throw new Error(String(res.status));
        const data = await res.json();
        if (inflight === ctrl) render(q, data);
      } catch (err) {
        if (err.name !== "AbortError" && inflight === ctrl) {
          list.replaceChildren();
          input.setAttribute("aria-expanded", "false");
          status.textContent = "Поиск не удался. Нажмите Enter, чтобы открыть список компаний.";
        }
      } finally {
        if (inflight === ctrl) {
          inflight = null;
          dialog.removeAttribute("aria-busy");
        }
      }
    };

    function schedule(delay) {
      clearTimeout(timer);
      if (inflight) inflight.abort(); // what it would answer is stale already
      timer = setTimeout(() => search(input.value.trim()), delay);
    }

    input.addEventListener("input", () => schedule(DEBOUNCE));

    input.addEventListener("keydown", (e) => {
      const opts = options();
      switch (e.key) {
        case "ArrowDown":
          e.preventDefault();
          if (opts.length) setActive(active < opts.length - 1 ? active + 1 : 0);
          break;
        case "ArrowUp":
          e.preventDefault();
          if (opts.length) setActive(active > 0 ? active - 1 : opts.length - 1);
          break;
        case "Enter":
          if (active >= 0 && opts[active]) {
            e.preventDefault();
            go(opts[active], e.ctrlKey || e.metaKey);
          } // otherwise the form goes to the full list of companies
          break;
      }
    });

    list.addEventListener("click", (e) => {
      const opt = e.target.closest('[role="option"]');
      if (opt) go(opt, e.ctrlKey || e.metaKey);
    });
    list.addEventListener("mousemove", (e) => {
      const opt = e.target.closest('[role="option"]');
      const i = opt ? options().indexOf(opt) : -1;
      if (i >= 0 && i !== active) setActive(i);
    });
    // Enter without a chosen option submits the box to the full list. After
    // a choice the Enter that chose may still reach the form (a keypress
    // after the handled keydown); the chosen page wins.
    form.addEventListener("submit", (e) => {
      if (leaving) {
        e.preventDefault();
        return;
      }
      close();
    });

    // Focus trap: Tab cycles through the box and the cross. A modal
    // dialog already makes the page behind it inert; this keeps Tab from
    // leaving for the browser's own controls.
    dialog.addEventListener("keydown", (e) => {
      if (e.key !== "Tab") return;
      const items = Array.from(dialog.querySelectorAll("input, button, a[href]")).filter((x) => x.getClientRects().length);
      if (!items.length) return;
      const first = items[0];
      const last = items[items.length - 1];
      if (e.shiftKey && document.activeElement === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault();
        first.focus();
      }
    });
  }

  initPalette();
})();
