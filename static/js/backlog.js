// Drag and drop on the backlog and planning pages (SortableJS). Without JavaScript the arrow
// buttons and checkboxes do the same. A drop is saved at once; if saving fails the story goes
// back where it was and the reason is shown. Moving between lists reloads, so totals stay exact.
(function () {
  "use strict";
  const form = document.querySelector("[data-project]");
  if (!form || typeof Sortable === "undefined") return;
  const project = form.dataset.project;
  const status = document.querySelector("[data-backlog-status]");

  function say(message, isError) {
    if (!status) return;
    status.textContent = message;
    status.className = isError ? "flash error" : "sr-only";
  }

  document.querySelectorAll("[data-sortable]").forEach(function (list) {
    Sortable.create(list, {
      group: "stories",
      handle: ".drag-handle",
      draggable: ".backlog-row",
      animation: 120,
      onEnd: async function (evt) {
        const item = evt.item;
        const next = item.nextElementSibling;
        const body = {
          story: Number(item.dataset.number),
          target: evt.to.dataset.target,
          before: next && next.dataset.number ? Number(next.dataset.number) : null,
        };
        if (evt.from === evt.to && evt.oldIndex === evt.newIndex) return;
        try {
          await window.plannerFetch(
            "/api/v1/projects/" + encodeURIComponent(project) + "/backlog/reorder",
            { method: "POST", body: JSON.stringify(body) }
          );
          if (evt.from !== evt.to) {
            window.location.reload();
          } else {
            say(project + "-" + body.story + " moved.", false);
          }
        } catch (error) {
          // Put it back exactly where it was.
          const anchor = evt.from.children[evt.oldIndex] || null;
          evt.from.insertBefore(item, anchor === item ? item.nextSibling : anchor);
          say("Not moved: " + error.message, true);
        }
      },
    });
  });
})();
