// crmLatest() makes a fetcher that keeps only the latest of its requests,
// for every part of a page that asks the server while the user types or
// while events arrive (the duplicate check, the recurrence preview, the
// company picker, the merge search, the desk's refresh). Each get aborts
// the one before; a get that was superseded — aborted, or answered after a
// newer one began — resolves to null, so an old, slow answer never
// overwrites a newer one. Other failures (the network) are thrown.
//
//   const ask = window.crmLatest();
//   const got = await ask.get(url, { headers: { Accept: "application/json" } }, (r) => r.json());
//   if (!got) return; // superseded
//   use(got.resp, got.body);
//
// read, when given, reads the body under the same abort; ask.cancel()
// drops whatever is in flight; ask.busy() says whether something is.
(() => {
  "use strict";

  window.crmLatest = () => {
    let current = null;
    const cancel = () => {
      if (current) current.abort();
      current = null;
    };
    const get = async (url, options, read) => {
      cancel();
      const ctrl = new AbortController();
      current = ctrl;
      try {
        const resp = await fetch(url, { credentials: "same-origin", ...options, signal: ctrl.signal });
        const body = read ? await read(resp) : undefined;
        return current === ctrl ? { resp, body } : null;
      } catch (err) {
        if (err.name === "AbortError" || current !== ctrl) return null;
        throw err;
      } finally {
        if (current === ctrl) current = null;
      }
    };
    return { get, cancel, busy: () => current !== null };
  };
})();
