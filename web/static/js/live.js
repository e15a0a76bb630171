// The live events stream (GET /api/events/): one EventSource per tab,
// shared by every part of the page that wants live updates. A part calls
// window.crmLive.on(type, fn) and gets each event's parsed JSON data; the
// stream opens on the first subscription. The browser reconnects by itself
// and sends Last-Event-ID, so the server replays what was missed; a
// "reset" event (some events were lost) reaches the "reset" subscribers.
(() => {
  "use strict";

  let stream = null;
  const handlers = new Map(); // type → [fn]

  const open = () => {
    if (stream || typeof EventSource !== "function") return;
    stream = new EventSource("/api/events/");
    handlers.forEach((_, type) => listen(type));
    window.addEventListener("pagehide", () => {
      if (stream) stream.close();
      stream = null;
    });
  };

  const listen = (type) => {
    stream.addEventListener(type, (e) => {
      let data = {};
      try {
        data = JSON.parse(e.data);
      } catch {
        return; // a malformed event is ignored
      }
      (handlers.get(type) || []).forEach((fn) => fn(data, e));
    });
  };

  window.crmLive = {
    // on subscribes fn to the events of type.
    on(type, fn) {
      const known = handlers.has(type);
      if (!known) handlers.set(type, []);
      handlers.get(type).push(fn);
      if (stream && !known) listen(type);
      open();
    },
  };
})();
