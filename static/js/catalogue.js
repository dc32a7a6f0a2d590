// Filters the connector catalogue as the user types. Matching mirrors the server's `?q=` search
// (Service.matches): every whitespace-separated term must occur in the connector's search text.
(function () {
  "use strict";

  var form = document.querySelector("[data-catalogue-search]");
  if (!form) return;
  var input = form.querySelector('input[name="q"]');
  var empty = document.getElementById("catalogue-empty");
  var emptyQuery = empty.querySelector("[data-empty-query]");
  var categories = Array.prototype.slice.call(document.querySelectorAll("[data-category]"));

  function terms(query) {
    return query.toLocaleLowerCase().split(/\s+/).filter(Boolean);
  }

  function apply() {
    var wanted = terms(input.value);
    var total = 0;
    categories.forEach(function (category) {
      var shown = 0;
      category.querySelectorAll("[data-search]").forEach(function (item) {
        var text = item.getAttribute("data-search");
        var match = wanted.every(function (term) { return text.indexOf(term) !== -1; });
        item.hidden = !match;
        if (match) shown += 1;
      });
      category.hidden = shown === 0;
      total += shown;
    });
    emptyQuery.textContent = input.value.trim();
    empty.hidden = total > 0;

    // Keep the address shareable and the back button meaningful without reloading.
    var url = new URL(window.location.href);
    if (input.value.trim()) url.searchParams.set("q", input.value.trim());
    else url.searchParams.delete("q");
    window.history.replaceState(null, "", url);
  }

  input.addEventListener("input", apply);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    apply();
  });
})();
