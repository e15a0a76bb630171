// The live events stream (GET /api/events/): one EventSource per tab,
// named to come first among js/*.js so every later part can subscribe,
// shared by every part of the page that wants live updates. A part calls
// window.crmLive.on(type, fn) and gets each event's parsed JSON data; the
// stream opens on the first subscription.
//
// The browser reconnects by itself after a dropped connection and sends
// Last-Event-ID, so the server replays what was missed. When the browser
// gives up (an error answer, a server that was down too long), this script
// opens a new stream after a growing pause (1 s doubling to a minute, with
// jitter), passing the last id as ?last_event_id= — unless the session has
// ended (401), then it stops. A "reset" event (some events were lost)
// reaches the "reset" subscribers, which reload what they show.
(() => {
  "use strict";

  let stream = null;
  // A page whose state later events change says where its stream starts
  // (data-live-cursor, read before that state), so nothing between the
  // render and the stream's opening is missed.
  const start = document.querySelector("[data-live-cursor]");
  let lastId = start ? start.dataset.liveCursor || "" : "";
  let retry = 0; // consecutive failed attempts
  let timer = 0;
  let stopped = false;
  const handlers = new Map(); // type → [fn]

  const url = () => "/api/events/" + (lastId ? "?last_event_id=" + encodeURIComponent(lastId) : "");

  const open = () => {
    if (stream || stopped || typeof EventSource !== "function" || !handlers.size) return;
    stream = new EventSource(url());
    stream.addEventListener("open", () => {
      retry = 0;
    });
    stream.addEventListener("error", () => {
      if (stream && stream.readyState === EventSource.CLOSED) giveUp();
    });
    handlers.forEach((_, type) => listen(type));
  };

  // giveUp is the browser's end of the stream: ask whether we are still
  // signed in, then try again later.
  const giveUp = () => {
    close();
    fetch("/api/notifications/unread-count/", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => {
        if (r.status === 401 || r.status === 403) {
          stopped = true; // signed out: a new sign-in loads a new page
          return;
        }
        schedule();
      })
      .catch(schedule);
  };

  const schedule = () => {
    if (stopped || timer) return;
    const pause = Math.min(60000, 1000 * 2 ** retry) * (0.75 + Math.random() * 0.5);
    retry = Math.min(retry + 1, 6);
    timer = window.setTimeout(() => {
      timer = 0;
      open();
    }, pause);
  };

  const close = () => {
    if (stream) stream.close();
    stream = null;
  };

  const listen = (type) => {
    stream.addEventListener(type, (e) => {
      if (e.lastEventId) lastId = e.lastEventId;
      let data = {};
      try {
        data = JSON.parse(e.data);
      } catch {
        return; // a malformed event is ignored
      }
      (handlers.get(type) || []).forEach((fn) => {
        try {
          fn(data, e);
        } catch (err) {
          console.error(err); // one broken part does not stop the others
        }
      });
    });
  };

  window.addEventListener("pagehide", close);
  // A page restored from the back-forward cache picks up where it was.
  window.addEventListener("pageshow", (e) => {
    if (e.persisted) open();
  });

  window.crmLive = {
    // connected is whether the stream is open (tests wait for it).
    connected() {
      return !!stream && stream.readyState === EventSource.OPEN;
    },
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
