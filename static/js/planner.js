// planner's small shared script: the CSRF header for fetch(), and progressive touches on forms.
// Every page works without it.
(function () {
  "use strict";

  const meta = document.querySelector('meta[name="csrf-token"]');

  // fetch() with the CSRF token and JSON; rejects with the API's error message.
  window.plannerFetch = async function (url, options = {}) {
    const headers = Object.assign(
      { "Accept": "application/json", "X-CSRFToken": meta ? meta.content : "" },
      options.body ? { "Content-Type": "application/json" } : {},
      options.headers || {}
    );
    const response = await fetch(url, Object.assign({}, options, { headers, credentials: "same-origin" }));
    const body = (response.headers.get("Content-Type") || "").includes("json") ? await response.json() : null;
    if (!response.ok) {
      const error = new Error((body && body.error && body.error.message) || response.statusText);
      error.status = response.status;
      error.body = body;
      throw error;
    }
    return body;
  };

  // Show the experiment fields only for experiments (they stay in the page, and in the form).
  const typeSelect = document.querySelector("[data-story-type]");
  const experimentFields = document.querySelector("[data-experiment-fields]");
  if (typeSelect && experimentFields) {
    const sync = () => { experimentFields.hidden = typeSelect.value !== "experiment"; };
    typeSelect.addEventListener("change", sync);
    sync();
  }

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
})();
