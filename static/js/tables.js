// Loads a table's preview on demand, so the tables page itself never waits for BigQuery.
(function () {
  "use strict";

  var region = document.getElementById("table-preview");
  if (!region) return;
  var pending = null;

  function show(html) {
    region.innerHTML = html;
    region.hidden = false;
  }

  function load(button) {
    var url = button.getAttribute("data-preview-url");
    if (pending) pending.abort();
    pending = new AbortController();
    var controller = pending;
    region.setAttribute("aria-busy", "true");
    show('<p class="empty-state">Loading preview…</p>');
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" }, signal: controller.signal })
      .then(function (response) {
        // The server answers a fragment for errors too (404 gone, 502 BigQuery down).
        return response.text().then(function (text) {
          if (!response.ok && !text) throw new Error("HTTP " + response.status);
          return text;
        });
      })
      .then(function (html) {
        show(html);
        region.focus();
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        show('<p class="form-errors" role="alert">The preview could not be loaded. Try again.</p>');
      })
      .finally(function () {
        if (pending === controller) {
          pending = null;
          region.removeAttribute("aria-busy");
        }
      });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-preview-url]");
    if (button) load(button);
  });
})();
