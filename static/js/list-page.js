// The integrations list, live: the team socket (/ws/integrations/) sends every line on connect and
// each line again when it changes; a row's badge and links follow it. Reconnects with backoff.
(function () {
  "use strict";

  var table = document.querySelector("[data-team-socket]");
  if (!table || !window.WebSocket) return;
  var path = table.getAttribute("data-team-socket");
  var attempts = 0;

  function show(line) {
    var row = table.querySelector('tr[data-integration="' + line.id + '"]');
    if (!row) return;
    var badge = row.querySelector('[data-role="state"]');
    var ready = line.health !== null;
    badge.className = ready ? "health-badge health-badge--" + line.health : "state-badge state-badge--" + line.state;
    badge.textContent = ready ? line.health_label : line.state_label;
    badge.title = line.reason || "";
    row.querySelectorAll('[data-role="open"]').forEach(function (link) { link.href = line.url; });
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var socket = new WebSocket(scheme + "//" + window.location.host + path);
    socket.onmessage = function (message) {
      var frame = JSON.parse(message.data);
      attempts = 0;
      if (frame.type === "snapshot") frame.data.integrations.forEach(show);
      if (frame.type === "integration.summary") show(frame.data);
      if (frame.type === "integration.removed") {
        var row = table.querySelector('tr[data-integration="' + frame.data.id + '"]');
        if (row) row.remove();
      }
    };
    socket.onclose = function (event) {
      var final = (window.GyanaVocabulary || { finalCloseCodes: [] }).finalCloseCodes;
      if (final.indexOf(event.code) !== -1) return;
      attempts += 1;
      var delay = Math.min(15000, 500 * Math.pow(2, attempts)) * (0.5 + Math.random() / 2);
      window.setTimeout(connect, delay);
    };
  }

  connect();
})();
