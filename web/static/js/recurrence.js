// The task form's recurrence builder (view.RecurrenceBuilder).
(() => {
  "use strict";

  // Without this script the builder's named controls are posted and the
  // server builds the rule (task.RuleFromForm). With it, the parts that do
  // not apply to the chosen frequency are hidden, the hidden
  // recurrence_rrule field follows the controls, and the description and
  // the next five dates come from GET /api/tasks/recurrence/ as you type.

  const UNITS = {
    daily: ["день", "дня", "дней"],
    weekly: ["неделя", "недели", "недель"],
    monthly: ["месяц", "месяца", "месяцев"],
    yearly: ["год", "года", "лет"],
  };

  function plural(n, forms) {
    const n100 = n % 100;
    const n10 = n % 10;
    if (n100 >= 11 && n100 <= 14) return forms[2];
    if (n10 === 1) return forms[0];
    if (n10 >= 2 && n10 <= 4) return forms[1];
    return forms[2];
  }

  // value of the named control of the builder (checked radio for radios).
  function val(root, name) {
    const els = root.querySelectorAll('[name="' + name + '"]');
    for (const el of els) {
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.checked) return el.value;
      } else {
        return el.value.trim();
      }
    }
    return "";
  }

  // untilDate turns dd.mm.yyyy (or yyyy-mm-dd) into 20261231, or null.
  function untilDate(s) {
    let m = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(s);
    let y, mo, d;
    if (m) {
      [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
    } else if ((m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s))) {
      [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    } else {
      return null;
    }
    const dt = new Date(Date.UTC(y, mo - 1, d));
    if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d) return null;
    if (y < 1900 || y > 2999) return null;
    return String(y) + String(mo).padStart(2, "0") + String(d).padStart(2, "0");
  }

  // ruleFromControls mirrors task.RuleFromForm: {rule} or {error}.
  function ruleFromControls(root, hidden) {
    const freq = val(root, "recurrence_freq");
    if (freq === "") return { rule: "" };
    if (freq === "custom") return { rule: root.dataset.customRule || hidden.value };
    const parts = ["FREQ=" + freq.toUpperCase()];
    const interval = val(root, "recurrence_interval");
    if (interval !== "") {
      const n = Number(interval);
      if (!Number.isInteger(n) || n < 1 || n > 1000) return { error: "Интервал повторения — целое число от 1 до 1000." };
      if (n > 1) parts.push("INTERVAL=" + n);
    }
    if (freq === "weekly") {
      const days = [...root.querySelectorAll('[name="recurrence_byday"]:checked')].map((el) => el.value);
      if (days.length) parts.push("BYDAY=" + days.join(","));
    } else if (freq === "monthly") {
      const mode = val(root, "recurrence_monthmode") || "day";
      if (mode === "day") {
        const d = val(root, "recurrence_monthday");
        if (d !== "") {
          const n = Number(d);
          if (!Number.isInteger(n) || n < 1 || n > 31) return { error: "Число месяца — от 1 до 31." };
          parts.push("BYMONTHDAY=" + n);
        }
      } else if (mode === "nth") {
        parts.push("BYDAY=" + val(root, "recurrence_ordinal") + val(root, "recurrence_weekday"));
      } else if (mode === "last") {
        parts.push("BYMONTHDAY=-1");
      } else if (mode === "lastwork") {
        parts.push("BYDAY=MO,TU,WE,TH,FR", "BYSETPOS=-1");
      }
    }
    const end = val(root, "recurrence_end") || "never";
    if (end === "count") {
      const n = Number(val(root, "recurrence_count"));
      if (!Number.isInteger(n) || n < 1 || n > 10000) return { error: "Число повторений — от 1 до 10000." };
      parts.push("COUNT=" + n);
    } else if (end === "until") {
      const d = untilDate(val(root, "recurrence_until"));
      if (!d) return { error: "Дата окончания — в виде дд.мм.гггг." };
      parts.push("UNTIL=" + d);
    }
    return { rule: parts.join(";") };
  }

  // dtstart is the task's due moment as the form has it now.
  function dtstart(root, form) {
    const field = form && form.elements.namedItem(root.dataset.dtstartField || "due_at");
    let v = field && "value" in field ? field.value.trim() : "";
    // The form's date is dd.mm.yyyy text; the preview takes yyyy-mm-dd.
    if (/^\d{1,2}\.\d{1,2}\.\d{4}$/.test(v)) {
      const d = untilDate(v);
      v = d ? d.slice(0, 4) + "-" + d.slice(4, 6) + "-" + d.slice(6, 8) : "";
    }
    const timeName = root.dataset.timeField;
    const time = timeName && form ? form.elements.namedItem(timeName) : null;
    const clock = time && "value" in time ? /^(\d{1,2}):(\d{2})/.exec(time.value.trim()) : null;
    if (v && clock && /^\d{4}-\d{2}-\d{2}$/.test(v)) {
      v += "T" + clock[1].padStart(2, "0") + ":" + clock[2];
    }
    return v || root.dataset.dtstart || "";
  }

  // allDay: the form's "all day" box, or — when the form splits date and
  // time — an empty time (the task form reads it as a whole day too).
  function allDay(root, form) {
    const field = form && form.elements.namedItem(root.dataset.alldayField || "all_day");
    if (field && field.type === "checkbox" && field.checked) return true;
    const timeName = root.dataset.timeField;
    const time = timeName && form ? form.elements.namedItem(timeName) : null;
    if (time && "value" in time) return time.value.trim() === "";
    if (field && field.type === "checkbox") return false;
    return root.dataset.allDay === "true";
  }

  function initBuilder(root) {
    const form = root.closest("form");
    const hidden = root.querySelector("[data-recurrence-rrule]");
    const freqSel = root.querySelector("[data-recurrence-freq]");
    const unit = root.querySelector("[data-recurrence-unit]");
    const text = root.querySelector("[data-recurrence-text]");
    const nextBlock = root.querySelector("[data-recurrence-next-block]");
    const nextList = root.querySelector("[data-recurrence-next]");
    if (!hidden || !freqSel || !text || !nextList) return;
    if (freqSel.value === "custom") root.dataset.customRule = hidden.value;

    let timer = 0;
    const preview = window.crmLatest();

    const showParts = () => {
      const freq = freqSel.value;
      root.querySelectorAll("[data-show]").forEach((el) => {
        el.hidden = !el.dataset.show.split(" ").includes(freq);
      });
      if (unit) {
        const n = Number(val(root, "recurrence_interval")) || 1;
        unit.textContent = UNITS[freq] ? plural(n, UNITS[freq]) : "";
      }
    };

    const showPreview = (description, dates) => {
      text.textContent = description;
      nextList.replaceChildren(
        ...dates.map((d) => {
          const li = document.createElement("li");
          li.textContent = d;
          return li;
        }),
      );
      if (nextBlock) nextBlock.hidden = dates.length === 0;
    };

    const refresh = async () => {
      const built = ruleFromControls(root, hidden);
      if (built.error) {
        preview.cancel();
        showPreview(built.error, []);
        return;
      }
      hidden.value = built.rule;
      if (built.rule === "") {
        preview.cancel();
        showPreview("Не повторяется", []);
        return;
      }
      const params = new URLSearchParams({
        rrule: built.rule,
        dtstart: dtstart(root, form),
        all_day: String(allDay(root, form)),
      });
      try {
        const got = await preview.get(root.dataset.previewUrl + "?" + params, { headers: { Accept: "application/json" } }, (r) => r.json());
        if (!got) return; // a newer preview was asked for
        const { resp, body } = got;
        if (resp.ok) {
          hidden.value = body.rrule;
          showPreview(body.text || "Не повторяется", body.next_text || []);
        } else {
          const msgs = body && body.detail ? [body.detail] : Object.values(body || {}).flat();
          showPreview(msgs.length ? msgs.join(" ") : "Не удалось проверить правило.", []);
        }
      } catch {
        showPreview("Не удалось получить предпросмотр. Правило проверят при сохранении.", []);
      }
    };

    const watched = [root.dataset.dtstartField || "due_at", root.dataset.timeField, root.dataset.alldayField || "all_day"];
    const schedule = (ev) => {
      const t = ev && ev.target;
      if (t && !root.contains(t) && !watched.includes(t.name)) return;
      showParts();
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    };

    showParts();
    (form || root).addEventListener("input", schedule);
    (form || root).addEventListener("change", schedule);
  }

  function init() {
    document.querySelectorAll("[data-recurrence]").forEach(initBuilder);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
