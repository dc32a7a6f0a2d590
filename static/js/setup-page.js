// The table-selection page: filter, select all/none per schema, one live count, and saving the
// selection as JSON (POST /api/integrations/<id>/schema/), then back to the live flow page.
(function () {
  "use strict";

  var form = document.querySelector("[data-setup]");
  if (!form) return;
  var search = form.querySelector('[data-role="search"]');
  var total = form.querySelector('[data-role="total"]');
  var noMatch = form.querySelector('[data-role="no-match"]');
  var error = form.querySelector('[data-role="error"]');
  var submit = form.querySelector('[data-role="submit"]');
  var schemas = Array.prototype.slice.call(form.querySelectorAll("[data-schema]"));

  function boxes(scope) {
    return Array.prototype.slice.call(scope.querySelectorAll('input[type="checkbox"]'));
  }

  function plural(count, word) {
    return count + " " + word + (count === 1 ? "" : "s");
  }

  // The one count people see: tables that will be synced (chosen plus the ones Fivetran requires),
  // of those on offer. Tables Fivetran cannot sync are shown but not counted.
  function offered(scope) {
    return Array.prototype.slice.call(scope.querySelectorAll('[data-table]:not([data-role-kind="unavailable"]) input[type="checkbox"]'));
  }

  function updateCounts() {
    var synced = 0;
    var all = 0;
    schemas.forEach(function (schema) {
      var inputs = offered(schema);
      var checked = inputs.filter(function (input) { return input.checked; }).length;
      schema.querySelector('[data-role="schema-count"]').textContent = checked + " of " + inputs.length + " will be synced";
      synced += checked;
      all += inputs.length;
    });
    total.textContent = synced + " of " + plural(all, "table") + " will be synced";
  }

  function filter() {
    var terms = search.value.toLocaleLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    schemas.forEach(function (schema) {
      var schemaName = schema.getAttribute("data-schema").toLocaleLowerCase();
      var inSchema = 0;
      schema.querySelectorAll("[data-table]").forEach(function (item) {
        var text = schemaName + " " + item.getAttribute("data-table").toLocaleLowerCase();
        var match = terms.every(function (term) { return text.indexOf(term) !== -1; });
        item.hidden = !match;
        if (match) inSchema += 1;
      });
      schema.hidden = inSchema === 0;
      shown += inSchema;
    });
    noMatch.hidden = shown > 0 || schemas.length === 0;
  }

  function selection() {
    var selected = {};
    schemas.forEach(function (schema) {
      // Required tables are Fivetran's to sync, not ours to send.
      var tables = boxes(schema).filter(function (input) { return input.checked && !input.disabled; })
        .map(function (input) { return input.value; });
      if (tables.length) selected[schema.getAttribute("data-schema")] = tables;
    });
    return selected;
  }

  function csrfToken() {
    var input = form.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : "";
  }

  function showError(message) {
    error.textContent = message;
    error.hidden = false;
    submit.disabled = false;
    submit.textContent = "Save and continue";
  }

  form.addEventListener("change", updateCounts);
  search.addEventListener("input", filter);

  form.addEventListener("click", function (event) {
    var button = event.target.closest("[data-select]");
    if (!button) return;
    var check = button.getAttribute("data-select") === "all";
    // Only the tables the filter shows: "select all" after filtering means all of those.
    boxes(button.closest("[data-schema]")).forEach(function (input) {
      if (!input.disabled && !input.closest("[data-table]").hidden) input.checked = check;
    });
    updateCounts();
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    submit.textContent = "Saving…";
    fetch(form.getAttribute("data-api-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ selected: selection() }),
    }).then(function (response) {
      if (response.status === 202) {
        window.location.assign(form.getAttribute("data-flow-url"));
        return;
      }
      return response.json().catch(function () { return {}; }).then(function (body) {
        showError(body.error || "The selection was not saved (" + response.status + ").");
      });
    }).catch(function () {
      showError("Could not reach the server; try again.");
    });
  });

  submit.disabled = false;
  updateCounts();
  filter();
})();
