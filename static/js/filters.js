// Filter forms (the Stories list): apply a filter as soon as it changes, with no Apply button.
// Without JavaScript the form's Apply button does the same (a GET, so the URL keeps the filter).
(function () {
  "use strict";
  // On a phone the panel folds away unless a filter is on.
  document.querySelectorAll("details[data-fold-on-phone]").forEach(function (panel) {
    if (window.matchMedia("(max-width: 640px)").matches && panel.dataset.foldOnPhone !== "keep") {
      panel.open = false;
    }
  });
  document.querySelectorAll("form[data-filter-form]").forEach(function (form) {
    form.querySelectorAll("[data-filter-apply]").forEach(function (button) { button.hidden = true; });
    form.addEventListener("change", function (event) {
      if (event.target.matches("select")) {
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }
    });
    // The search box applies on Enter (the form's own submit) or when it loses focus changed.
    const search = form.querySelector("input[type=search]");
    if (search) {
      const initial = search.value;
      search.addEventListener("change", function () {
        if (search.value !== initial) { form.requestSubmit ? form.requestSubmit() : form.submit(); }
      });
    }
  });
})();
