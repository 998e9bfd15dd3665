// The Stories list (issue 14, "Keyboard"): j/k move between stories (roving tabindex), Enter opens
// the story, c goes to the new-story form, ? lists the keys. Status and assignee keys live on the
// board, the backlog and the story page, where the story's version is at hand. Without
// JavaScript the list is plain links.
(function () {
  "use strict";
  const K = window.plannerKeys;
  if (!K) return;
  K.list({
    items: function () { return document.querySelectorAll(".story-row[data-key]"); },
    help: [
      ["j / k", "Next / previous story"],
      ["Enter", "Open the story"],
      ["c", "Create a story (the form above the list)"],
      ["/", "Search"],
      ["?", "This list"],
      ["Esc", "Close this list"],
    ],
    keys: {
      Enter: function (row) { row.querySelector(".title > a").click(); },
      c: function () {
        const input = document.querySelector(".quick-create input[name='title']");
        if (input) { input.scrollIntoView({ block: "center" }); input.focus(); }
      },
    },
  });
  const hint = document.querySelector("[data-keys-hint]");
  if (hint) hint.hidden = false;
})();
