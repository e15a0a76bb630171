// Company merge: the merge page's «объединить» checkboxes and the card's
// «Объединить с…» picker. Both work without this script; it only makes
// them quicker to use.
(() => {
  "use strict";

  // A united list takes both sides' values, so its radios do not matter:
  // they are disabled while the row's checkbox is on.
  const syncRow = (box) => {
    const row = box.closest("[data-merge-row]");
    if (!row) return;
    row.classList.toggle("is-united", box.checked);
    row.querySelectorAll("input[type=radio]").forEach((r) => { r.disabled = box.checked; });
  };
  document.querySelectorAll("[data-merge-union]").forEach(syncRow);
  document.addEventListener("change", (ev) => {
    const t = ev.target;
    if (t.matches("[data-merge-union]")) syncRow(t);
    if (t.matches("[data-merge] input[type=radio]")) {
      const row = t.closest("[data-merge-row]");
      row?.querySelectorAll(".merge-cell").forEach((cell) => {
        cell.classList.toggle("is-chosen", cell.contains(t));
      });
    }
  });

  // The picker suggests visible companies while typing (the list's own
  // search, the company itself left out); an option's value is the
  // company's number, which the merge page takes as it is.
  const pick = document.querySelector("[data-merge-pick]");
  if (!pick) return;
  const self = pick.dataset.mergePick;
  const input = pick.querySelector("input[name=with]");
  const list = pick.querySelector("datalist");
  let timer = 0;
  const ask = window.crmLatest();
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (q.length < 2 || /^\d+$/.test(q) && q.length < 10) return;
    timer = setTimeout(() => {
      ask.get("/api/companies/?page_size=10&search=" + encodeURIComponent(q),
        { headers: { Accept: "application/json" } }, (r) => (r.ok ? r.json() : { results: [] }))
        .then((got) => {
          if (!got) return;
          const data = got.body;
          list.replaceChildren(...(data.results || [])
            .filter((c) => String(c.id) !== self)
            .map((c) => {
              const o = document.createElement("option");
              o.value = String(c.id);
              o.label = [c.name, c.inn && "ИНН " + c.inn, c.responsible_name].filter(Boolean).join(" · ");
              o.textContent = o.label;
              return o;
            }));
        })
        .catch(() => {});
    }, 150);
  });
})();
