// "use this" next to a suggested forecast date fills the forecast field; the scrum master still
// writes why and records it.
(function () {
  "use strict";
  const input = document.querySelector("[data-forecast-input]");
  if (!input) return;
  document.querySelectorAll("[data-use-date]").forEach(function (button) {
    button.addEventListener("click", function () {
      input.value = button.dataset.useDate;
      input.focus();
    });
  });
})();
