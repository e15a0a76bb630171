// Task form: «Весь день» disables the time field (the server ignores it
// then anyway), so what is sent is what is seen; the company select
// becomes a search box (the ARIA 1.2 combobox pattern: an input with a
// listbox of up to ten companies found by GET /api/companies/?search=,
// arrows to move, Enter to choose, Esc to close) whose choice goes in a
// hidden field «company»; choosing a company loads its contacts into the
// contact select. Without the script the select lists the first companies
// by name and holds the contacts of the company the form was opened with.
(() => {
  "use strict";

  const form = document.querySelector("form[data-task-form]");
  if (!form) return;

  const allDay = form.querySelector("input[data-all-day]");
  const time = form.querySelector("input[data-due-time]");
  if (allDay && time) {
    const sync = () => {
      time.disabled = allDay.checked;
    };
    allDay.addEventListener("change", sync);
    sync();
  }

  const select = form.querySelector('select[name="company"]');
  const contact = form.querySelector('select[name="contact"]');
  const hint = document.getElementById("f-contact-hint");

  // loadContacts fills the contact select with the contacts of company id
  // ("" for none); a slower earlier answer never overwrites a later one.
  let asked = 0;
  const loadContacts = async (id) => {
    if (!contact) return;
    const ask = ++asked;
    const keep = contact.options[0] && contact.options[0].value === "" ? contact.options[0] : null;
    const fill = (people) => {
      contact.replaceChildren(...(keep ? [keep] : []));
      people.forEach((p) => {
        const o = document.createElement("option");
        o.value = String(p.id);
        o.textContent = p.full_name || [p.last_name, p.first_name].filter(Boolean).join(" ");
        contact.append(o);
      });
      contact.value = "";
    };
    if (!id) {
      fill([]);
      return;
    }
    try {
      const res = await fetch("/api/contacts/?page_size=500&company=" + encodeURIComponent(id), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!res.ok || ask !== asked) return;
      const body = await res.json();
      fill(body.results || []);
      if (hint) hint.hidden = true;
    } catch (_) {
      // Offline or refused: the select keeps what it had; the server checks the pair.
    }
  };

  if (!select) return;
  if (!select.hasAttribute("data-company-picker")) {
    select.addEventListener("change", () => loadContacts(select.value));
    return;
  }
  companyPicker(select, loadContacts);

  // companyPicker replaces the select with the combobox. The input takes
  // the select's id (so its label names it) and its descriptions; the
  // hidden field takes its name and value.
  function companyPicker(select, changed) {
    const DEBOUNCE = 150;
    const id = select.id;
    const listID = id + "-list";
    const chosenOption = select.selectedOptions[0];
    let chosen = { id: select.value, name: select.value && chosenOption ? chosenOption.textContent : "" };

    const el = (tag, cls, text) => {
      const n = document.createElement(tag);
      if (cls) n.className = cls;
      if (text) n.textContent = text;
      return n;
    };
    const wrap = el("div", "combo");
    wrap.dataset.testid = "company-picker";
    const input = el("input", "combo-input");
    input.type = "text";
    input.id = id;
    input.value = chosen.name;
    input.autocomplete = "off";
    input.spellcheck = false;
    input.placeholder = "Без компании — начните вводить название";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listID);
    input.setAttribute("maxlength", "200");
    for (const a of ["aria-describedby", "aria-invalid"]) {
      if (select.hasAttribute(a)) input.setAttribute(a, select.getAttribute(a));
    }
    input.dataset.testid = "company-picker-input";
    const list = el("ul", "combo-list");
    list.id = listID;
    list.hidden = true;
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Найденные компании");
    list.dataset.testid = "company-picker-list";
    const value = el("input");
    value.type = "hidden";
    value.name = select.name;
    value.value = chosen.id;
    const status = el("p", "visually-hidden");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    wrap.append(input, list, value, status);
    select.replaceWith(wrap);
    const help = document.getElementById(id + "-hint");
    if (help && select.dataset.pickerHint) help.textContent = select.dataset.pickerHint;

    let timer = 0;
    const ask = window.crmLatest();
    let active = -1;
    let chose = false; // the Enter being pressed chose an option
    const options = () => Array.from(list.querySelectorAll('[role="option"]'));

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
    const open = (yes) => {
      const show = yes && options().length > 0;
      list.hidden = !show;
      input.setAttribute("aria-expanded", String(show));
      if (!show) setActive(-1);
    };
    const stop = () => {
      clearTimeout(timer);
      ask.cancel();
      wrap.removeAttribute("aria-busy");
    };

    // pick makes c ({id, name}; id "" for none) the form's company.
    const pick = (c) => {
      stop();
      open(false);
      input.value = c.name;
      const was = chosen.id;
      chosen = c;
      value.value = c.id;
      status.textContent = c.id ? "Выбрана компания «" + c.name + "»." : "";
      if (was !== c.id) changed(c.id);
    };

    // render shows the companies found; all text goes in as text.
    const render = (q, companies) => {
      list.replaceChildren();
      companies.forEach((c, i) => {
        const li = el("li", "combo-option");
        li.id = id + "-opt-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.dataset.id = String(c.id);
        li.dataset.name = c.name;
        li.dataset.testid = "company-picker-option";
        li.appendChild(el("span", "combo-title", c.name));
        const sub = [c.legal_name && c.legal_name !== c.name ? c.legal_name : "", c.inn ? "ИНН " + c.inn : ""].filter(Boolean);
        if (sub.length) li.appendChild(el("span", "combo-sub", sub.join(" · ")));
        list.appendChild(li);
      });
      open(document.activeElement === input);
      status.textContent = companies.length
        ? "Найдено компаний: " + companies.length + ". Стрелки — выбрать, Enter — подтвердить."
        : "Ничего не найдено по запросу «" + q + "».";
    };

    const search = async (q) => {
      stop();
      if (!q) {
        list.replaceChildren();
        open(false);
        status.textContent = "";
        return;
      }
      wrap.setAttribute("aria-busy", "true");
      try {
        const got = await ask.get("/api/companies/?page_size=10&search=" + encodeURIComponent(q), { headers: { Accept: "application/json" } }, (r) => {
          if (!r.ok) throw new Error(String(r.status));
          return r.json();
        });
        if (got) render(q, got.body.results || []);
      } catch {
        list.replaceChildren();
        open(false);
        status.textContent = "Поиск компаний не удался; попробуйте ещё раз.";
      } finally {
        if (!ask.busy()) wrap.removeAttribute("aria-busy");
      }
    };

    input.addEventListener("input", () => {
      stop();
      timer = setTimeout(() => search(input.value.trim()), DEBOUNCE);
    });

    input.addEventListener("keydown", (e) => {
      const opts = options();
      switch (e.key) {
        case "ArrowDown":
          e.preventDefault();
          if (list.hidden) open(true);
          if (opts.length) setActive(active < opts.length - 1 ? active + 1 : 0);
          break;
        case "ArrowUp":
          e.preventDefault();
          if (list.hidden) open(true);
          if (opts.length) setActive(active > 0 ? active - 1 : opts.length - 1);
          break;
        case "Enter":
          if (!list.hidden && active >= 0 && opts[active]) {
            e.preventDefault(); // chooses, does not submit the form
            chose = true;
            pick({ id: opts[active].dataset.id, name: opts[active].dataset.name });
          }
          break;
        case "Escape":
          if (!list.hidden) {
            e.preventDefault();
            stop();
            open(false);
          } else if (input.value !== chosen.name) {
            e.preventDefault();
            input.value = chosen.name; // back to the company chosen
          }
          break;
      }
    });

    // The form submits on Enter's keypress. A browser sends none once the
    // keydown is cancelled, but keyboards driven by software (DevTools,
    // some assistive tools) send it anyway: the Enter that chose is not
    // also the one that submits.
    input.addEventListener("keypress", (e) => {
      if (e.key === "Enter" && chose) e.preventDefault();
      chose = false;
    });
    input.addEventListener("keyup", () => (chose = false));

    // A press on an option keeps the focus in the box; the click chooses.
    list.addEventListener("mousedown", (e) => e.preventDefault());
    list.addEventListener("click", (e) => {
      const opt = e.target.closest('[role="option"]');
      if (opt) pick({ id: opt.dataset.id, name: opt.dataset.name });
    });

    // Leaving the box: an emptied box means no company; anything else not
    // chosen from the list goes back to the company chosen, so what is
    // seen is what is sent. When the whole window loses focus (another
    // window, a screenshot) the box stays as it is for the return.
    input.addEventListener("blur", () => {
      if (!document.hasFocus()) return;
      stop();
      open(false);
      if (input.value.trim() === "") {
        pick({ id: "", name: "" });
      } else if (input.value !== chosen.name) {
        input.value = chosen.name;
      }
    });
  }
})();
