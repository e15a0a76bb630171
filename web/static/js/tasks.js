// Task form: «Весь день» disables the time field (the server ignores it
// then anyway), so what is sent is what is seen.
(() => {
  "use strict";

  const allDay = document.querySelector("form[data-task-form] input[data-all-day]");
  const time = document.querySelector("form[data-task-form] input[data-due-time]");
  if (!allDay || !time) return;
  const sync = () => {
    time.disabled = allDay.checked;
  };
  allDay.addEventListener("change", sync);
  sync();
})();
