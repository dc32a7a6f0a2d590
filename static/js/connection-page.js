// The connection page, live: the status header follows `connection.updated`, a sync appears in
// "Recent syncs" as it starts and ends, an action someone took is said, and the tables list (and the
// Schema tab, when the source gains tables) is re-rendered from the server when it changes. Each frame
// is also dispatched on the page as a `connection:frame` DOM event, so a tab's script follows the same
// socket. The forms work without this script; with
// it they still post normally (the page comes back with Django's message).
(function () {
  "use strict";

  var root = document.querySelector("[data-connection-page]");
  if (!root || !window.FlowClient) return;
  var words = window.GyanaVocabulary || {};
  var healthLabels = words.connectionHealthLabels || {};
  var syncLabels = words.syncStatusLabels || {};

  function field(name) {
    return root.querySelector('[data-field="' + name + '"]');
  }

  function when(iso) {
    if (!iso) return "—";
    var moment = new Date(iso);
    var months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    // The same words as the server's `when` filter: day month year, hh:mm UTC.
    return moment.getUTCDate() + " " + months[moment.getUTCMonth()] + " " + moment.getUTCFullYear() + ", " +
      pad(moment.getUTCHours()) + ":" + pad(moment.getUTCMinutes()) + " UTC";
  }

  function time(cell, iso, otherwise) {
    if (!cell) return;
    cell.textContent = "";
    if (!iso) { cell.textContent = otherwise || "—"; return; }
    var element = document.createElement("time");
    element.setAttribute("datetime", iso);
    element.textContent = when(iso);
    cell.appendChild(element);
  }

  function frequency(minutes) {
    if (!minutes) return "Manual";
    if (minutes === 1440) return "Every day";
    if (minutes % 60 === 0) return minutes === 60 ? "Every hour" : "Every " + minutes / 60 + " hours";
    return minutes === 1 ? "Every minute" : "Every " + minutes + " minutes";
  }

  function showConnection(data) {
    var health = root.querySelector('[data-role="health"]');
    health.className = "health health--" + data.health;
    field("health_label").textContent = data.health_label || healthLabels[data.health] || data.health;
    field("reason").textContent = data.reason || "";
    time(field("succeeded_at"), data.succeeded_at);
    time(field("next_sync_at"), data.paused ? null : data.next_sync_at, data.paused ? "Paused" : "—");
    field("sync_frequency").textContent = frequency(data.sync_frequency);
    root.querySelectorAll("[data-when]").forEach(function (form) {
      form.hidden = (form.getAttribute("data-when") === "paused") !== data.paused;
    });
    // Reconnect is offered by itself when the connection breaks, and goes when the card mends it.
    var reconnect = root.querySelector('[data-role="reconnect"]');
    if (reconnect) reconnect.hidden = data.health !== "broken";
  }

  function showSync(data) {
    var body = root.querySelector('[data-role="syncs"] tbody');
    if (!body) return;
    var empty = body.querySelector('[data-role="no-syncs"]');
    if (empty) empty.remove();
    var row = body.querySelector('[data-sync="' + data.id + '"]');
    if (!row) {
      row = document.createElement("tr");
      row.setAttribute("data-sync", data.id);
      body.insertBefore(row, body.firstChild);
    }
    row.innerHTML = "";
    [["Started", when(data.started_at)], ["Ended", when(data.ended_at)]].forEach(function (pair) {
      var cell = document.createElement("td");
      cell.setAttribute("data-label", pair[0]);
      cell.textContent = pair[1];
      row.appendChild(cell);
    });
    var result = document.createElement("td");
    result.setAttribute("data-label", "Result");
    var status = document.createElement("span");
    status.className = "sync-status sync-status--" + data.status;
    status.textContent = syncLabels[data.status] || data.status;
    result.appendChild(status);
    if (data.reason) {
      var reason = document.createElement("span");
      reason.className = "sync-reason";
      reason.textContent = " " + data.reason;
      result.appendChild(reason);
    }
    row.appendChild(result);
  }

  // Re-render one section of the page from the server (the same template, so no second renderer).
  function refreshSection(role, tab) {
    var section = root.querySelector('[data-role="' + role + '"]');
    if (!section) return;
    fetch(window.location.pathname + "?tab=" + tab, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector('[data-role="' + role + '"]');
        if (fresh) section.innerHTML = fresh.innerHTML;
      });
  }

  function refreshTables() { refreshSection("tables", "overview"); }

  function schemaChanged(data) {
    var names = data.added.map(function (entry) { return entry.table; }).join(", ");
    say(data.waiting
      ? "The source has new tables (" + names + "): tick them on the Schema tab to sync them."
      : "The source has new tables (" + names + "): Fivetran syncs them.");
    refreshSection("schema", "schema");
  }

  function say(text) {
    var said = root.querySelector('[data-role="said"]');
    if (said) said.textContent = text;
  }

  new window.FlowClient({
    url: root.getAttribute("data-ws-url"),
    since: parseInt(root.getAttribute("data-since"), 10),
    onEvent: {
      "connection.updated": function (frame) { showConnection(frame.data); },
      "sync.started": function (frame) { showSync(frame.data); },
      "sync.completed": function (frame) { showSync(frame.data); },
      "sync.failed": function (frame) { showSync(frame.data); },
      "tables.updated": refreshTables,
      "schema.changed": function (frame) { schemaChanged(frame.data); },
      "tables.registered": refreshTables,
      "connection.action": function (frame) {
        say((frame.data.by ? frame.data.by + ": " : "") + frame.data.message);
      },
      // Every frame, for the current tab's own script (history-tab.js, logs-tab.js): one socket per page.
      "*": function (frame) {
        root.dispatchEvent(new CustomEvent("connection:frame", { detail: frame }));
      },
    },
  }).start();
})();
