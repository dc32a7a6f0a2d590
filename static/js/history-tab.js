// The History tab, live: when the connection's socket brings an event that can make or change an
// entry, the newest page is fetched again from the server (the same filter, the same template) and
// replaces the list. Only on the newest page: an older page stays as it was read. Without JavaScript
// the tab is a plain page; the filter is a GET form and "Older" a link.
(function () {
  "use strict";

  var page = document.querySelector("[data-connection-page]");
  var history = document.querySelector("[data-role=history][data-history-live]");
  if (!page || !history) return;
  // Progress ticks and heartbeats never make an entry.
  var ignored = { "step.started": true, "step.progress": true, snapshot: true, heartbeat: true };
  var fetching = false;
  var again = false;

  function refresh() {
    if (fetching) { again = true; return; }
    fetching = true;
    fetch(window.location.pathname + window.location.search, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-role=history-page]");
        var current = history.querySelector("[data-role=history-page]");
        if (fresh && current) current.innerHTML = fresh.innerHTML;
      })
      .catch(function () { /* the next event tries again */ })
      .then(function () {
        fetching = false;
        if (again) { again = false; refresh(); }
      });
  }

  var timer = null;
  page.addEventListener("connection:frame", function (event) {
    if (ignored[event.detail.type]) return;
    // A sync's end comes with a connection.updated and maybe a tables.updated: fetch once for all.
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
})();
