// A story's checklist: ticking an item saves it without reloading the page. Without this
// script the tick is a plain form post that comes back to the story page.
(function () {
  "use strict";

  const meta = document.querySelector('meta[name="csrf-token"]');

  document.querySelectorAll("form[data-checklist-tick]").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        const response = await fetch(form.action, {
          method: "POST",
          body: new FormData(form),
          credentials: "same-origin",
          headers: { "Accept": "application/json", "X-CSRFToken": meta ? meta.content : "" },
        });
        if (!response.ok) { form.submit(); return; }  // let the server say what went wrong
        const answer = await response.json();
        const item = form.closest(".checklist-item");
        const text = item.querySelector(".checklist-text").textContent.replace(/^Done: /, "");
        item.classList.toggle("is-done", answer.done);
        form.querySelector('input[name="done"]').value = answer.done ? "0" : "1";
        button.textContent = answer.done ? "✓" : "";
        button.setAttribute("aria-pressed", answer.done ? "true" : "false");
        button.setAttribute("aria-label", (answer.done ? "Untick: " : "Tick: ") + text.trim());
        const progress = document.querySelector("[data-checklist-progress]");
        if (progress) { progress.textContent = `${answer.checklist.done}/${answer.checklist.total}`; }
      } catch (error) {
        form.submit();
      } finally {
        button.disabled = false;
      }
    });
  });
})();
