// The Logs tab, live: when a sync starts or ends (the connection page's socket, relayed by
// connection-page.js as "connection:frame" events), the first page of lines is fetched again from
// GET /api/integrations/<id>/logs with the tab's filters and re-rendered. No timer: nothing is
// fetched while nothing happens. An older page (a cursor in the address) is left as it is.
(function () {
  "use strict";

  var root = document.querySelector("[data-connection-page]");
  var section = document.querySelector('[data-role="logs"]');
  if (!root || !section) return;
  var params = new URLSearchParams(window.location.search);
  if (params.get("cursor")) return;
  var REFRESH_ON = { "sync.started": true, "sync.completed": true, "sync.failed": true, "connection.updated": true };
  var months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // The same words as the server's `when`, `clock` and `duration` filters.
  function when(iso) {
    if (!iso) return "—";
    var m = new Date(iso);
    return m.getUTCDate() + " " + months[m.getUTCMonth()] + " " + m.getUTCFullYear() + ", " +
      pad(m.getUTCHours()) + ":" + pad(m.getUTCMinutes()) + " UTC";
  }

  function clock(iso) {
    var m = new Date(iso);
    return pad(m.getUTCHours()) + ":" + pad(m.getUTCMinutes()) + ":" + pad(m.getUTCSeconds()) + " UTC";
  }

  function duration(seconds) {
    if (seconds < 1) return "under a second";
    var whole = Math.round(seconds), hours = Math.floor(whole / 3600), minutes = Math.floor((whole % 3600) / 60);
    if (hours) return hours + " h " + minutes + " min";
    return minutes ? minutes + " min " + (whole % 60) + " s" : whole + " s";
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function heading(group, sync) {
    var title = element("h3", { "class": "log-group__title" });
    if (sync) {
      title.appendChild(document.createTextNode("Sync started " + when(sync.started_at) + " "));
      title.appendChild(element("span", { "class": "sync-status sync-status--" + sync.status }, sync.status_label));
      title.appendChild(element("span", { "class": "log-group__duration" },
        sync.ended_at ? "took " + duration(sync.duration_seconds) : "still running"));
    } else {
      title.textContent = group.sync_id ? "Sync " + group.sync_id : "Outside a sync";
    }
    return title;
  }

  function render(answer) {
    var holder = section.querySelector('[data-role="log-groups"]');
    var syncs = {};
    answer.syncs.forEach(function (sync) { syncs[sync.sync_id] = sync; });
    var groups = [];
    answer.lines.forEach(function (line) {
      var last = groups[groups.length - 1];
      if (!last || last.sync_id !== line.sync_id) groups.push(last = { sync_id: line.sync_id, lines: [] });
      last.lines.push(line);
    });
    holder.innerHTML = "";
    if (!groups.length) {
      holder.appendChild(element("p", { "data-role": "no-logs" }, "No log lines yet: Fivetran writes them as the connection syncs."));
    }
    groups.forEach(function (group) {
      var sync = syncs[group.sync_id];
      var box = element("section", { "class": "log-group", "data-sync-id": group.sync_id || "",
        "aria-label": group.sync_id ? "Sync " + when(sync && sync.started_at) : "Outside a sync" });
      box.appendChild(heading(group, sync));
      if (sync && sync.reason) box.appendChild(element("p", { "class": "sync-reason" }, sync.reason));
      var table = element("table", { "class": "data-table stack-table log-lines" });
      var head = element("thead");
      var headRow = element("tr");
      ["Time", "Level", "What happened"].forEach(function (name) { headRow.appendChild(element("th", { scope: "col" }, name)); });
      head.appendChild(headRow);
      table.appendChild(head);
      var body = element("tbody");
      group.lines.forEach(function (line) {
        var row = element("tr", { "data-line": line.id, "data-level": line.level });
        var cell = element("td", { "data-label": "Time" });
        cell.appendChild(element("time", { datetime: line.time }, clock(line.time)));
        row.appendChild(cell);
        cell = element("td", { "data-label": "Level" });
        cell.appendChild(element("span", { "class": "log-level log-level--" + line.level.toLowerCase() }, line.level_label));
        row.appendChild(cell);
        row.appendChild(element("td", { "data-label": "What happened" }, line.text));
        body.appendChild(row);
      });
      table.appendChild(body);
      box.appendChild(table);
      holder.appendChild(box);
    });
    var older = section.querySelector('[data-role="older"]');
    if (older) older.parentNode.hidden = !answer.next_cursor;
    if (older && answer.next_cursor) {
      var next = new URLSearchParams(window.location.search);
      next.set("cursor", answer.next_cursor);
      older.setAttribute("href", "?" + next.toString());
    }
    section.setAttribute("data-refreshed", String(Date.now()));
  }

  var inFlight = null, again = false;
  function refresh() {
    if (inFlight) { again = true; return; }  // one fetch at a time; a burst of frames makes one more
    var query = new URLSearchParams();
    ["since", "level", "sync"].forEach(function (name) { if (params.get(name)) query.set(name, params.get(name)); });
    inFlight = fetch(section.getAttribute("data-logs-url") + "?" + query.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) { if (answer) render(answer); })
      .catch(function () { /* the next frame tries again */ })
      .then(function () {
        inFlight = null;
        if (again) { again = false; refresh(); }
      });
  }

  root.addEventListener("connection:frame", function (event) {
    if (REFRESH_ON[event.detail.type]) refresh();
  });
})();
