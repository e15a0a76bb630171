// Task form: «Весь день» disables the time field (the server ignores it
// then anyway), so what is sent is what is seen; choosing a company loads
// its contacts into the contact select (without the script the select
// holds the contacts of the company the form was opened with).
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

  const company = form.querySelector('select[name="company"]');
  const contact = form.querySelector('select[name="contact"]');
  if (!company || !contact) return;
  const hint = document.getElementById("f-contact-hint");
  let asked = 0;
  company.addEventListener("change", async () => {
    const id = company.value;
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
  });
})();
