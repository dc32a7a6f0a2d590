// Live notifications on every page: the notifications socket (/ws/notifications/) sends a
// `notification` frame to its user when one is raised; show it as a toast and move the header's unread count. The list
// page (/notifications/) has them all without JavaScript. Reconnects with backoff.
(function () {
  "use strict";

  var region = document.querySelector("[data-notifications-socket]");
  if (!region || !window.WebSocket) return;
  var path = region.getAttribute("data-notifications-socket");
  var attempts = 0;

  function setUnread(count) {
    var badge = document.querySelector('[data-notifications-link] [data-role="unread"]');
    if (!badge) return;
    badge.querySelector('[data-role="unread-count"]').textContent = String(count);
    badge.hidden = count === 0;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function toast(data) {
    var box = element("div", "toast");
    box.setAttribute("data-notification", String(data.id));
    box.appendChild(element("strong", "toast__title", data.title));
    box.appendChild(element("p", "toast__body", data.body));
    var actions = element("div", "toast__actions");
    var open = element("a", "", "Open");
    open.href = data.link;
    actions.appendChild(open);
    var all = element("a", "", "All notifications");
    all.href = "/notifications/";
    actions.appendChild(all);
    var dismiss = element("button", "button button--quiet", "Dismiss");
    dismiss.type = "button";
    dismiss.addEventListener("click", function () { box.remove(); });
    actions.appendChild(dismiss);
    box.appendChild(actions);
    region.appendChild(box);
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var socket = new WebSocket(scheme + "//" + window.location.host + path);
    socket.onmessage = function (message) {
      var frame = JSON.parse(message.data);
      attempts = 0;
      if (frame.type === "notification") {
        toast(frame.data);
        setUnread(frame.data.unread);
      }
    };
    socket.onclose = function (event) {
      var final = (window.GyanaVocabulary || { finalCloseCodes: [4401, 4404] }).finalCloseCodes;
      if (final.indexOf(event.code) !== -1) return;
      attempts += 1;
      var delay = Math.min(15000, 500 * Math.pow(2, attempts)) * (0.5 + Math.random() / 2);
      window.setTimeout(connect, delay);
    };
  }

  connect();
})();
