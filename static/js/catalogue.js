// Filters the connector catalogue as the user types or picks a category. Matching mirrors the
// server's `?q=` and `?category=` (Service.matches): every whitespace-separated term must occur in
// the connector's search text, and the connector must be in the chosen category.
(function () {
  "use strict";

  var form = document.querySelector("[data-catalogue-search]");
  if (!form) return;
  var input = form.querySelector('input[name="q"]');
  var select = form.querySelector('select[name="category"]');
  var empty = document.getElementById("catalogue-empty");
  var emptyQuery = empty.querySelector("[data-empty-query]");
  var emptyCategory = empty.querySelector("[data-empty-category]");
  var categories = Array.prototype.slice.call(document.querySelectorAll("[data-category]"));

  function terms(query) {
    return query.toLocaleLowerCase().split(/\s+/).filter(Boolean);
  }

  function apply() {
    var wanted = terms(input.value);
    var chosen = select ? select.value : "";
    var total = 0;
    categories.forEach(function (category) {
      var shown = 0;
      var inCategory = !chosen || category.getAttribute("data-category") === chosen;
      category.querySelectorAll("[data-search]").forEach(function (item) {
        var text = item.getAttribute("data-search");
        var match = inCategory && wanted.every(function (term) { return text.indexOf(term) !== -1; });
        item.hidden = !match;
        if (match) shown += 1;
      });
      category.hidden = shown === 0;
      total += shown;
    });
    emptyQuery.textContent = input.value.trim();
    if (emptyCategory) emptyCategory.textContent = chosen ? " in this category" : "";
    empty.hidden = total > 0;

    // Keep the address shareable and the back button meaningful without reloading.
    var url = new URL(window.location.href);
    if (input.value.trim()) url.searchParams.set("q", input.value.trim());
    else url.searchParams.delete("q");
    if (chosen) url.searchParams.set("category", chosen);
    else url.searchParams.delete("category");
    window.history.replaceState(null, "", url);
  }

  input.addEventListener("input", apply);
  if (select) select.addEventListener("change", apply);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    apply();
  });
})();
