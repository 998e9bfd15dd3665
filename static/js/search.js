// Search (issue 14): "/" or Ctrl-K (Cmd-K on a Mac) puts the cursor in the header's search box,
// from anywhere on a page except while typing in a field. Escape leaves the box. Without
// JavaScript the box is an ordinary GET form to /search.
(function () {
  "use strict";

  function typingIn(element) {
    if (!element || element === document.body) return false;
    if (element.isContentEditable) return true;
    const tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  document.addEventListener("keydown", function (event) {
    const box = document.querySelector("[data-search-box]");
    if (!box || event.defaultPrevented || event.isComposing) return;
    if (event.key === "Escape" && document.activeElement === box) {
      box.blur();
      return;
    }
    const slash = event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey;
    const commandK = (event.key === "k" || event.key === "K") && (event.ctrlKey || event.metaKey) &&
      !event.altKey && !event.shiftKey;
    // On the results page, "c" creates a story titled with what was searched for, when the
    // person may create in exactly one project (several: they pick the project's link).
    const creates = document.querySelectorAll("[data-create-story]");
    if (event.key === "c" && !event.ctrlKey && !event.metaKey && !event.altKey &&
        creates.length === 1 && !typingIn(document.activeElement)) {
      event.preventDefault();
      window.location.assign(creates[0].href);
      return;
    }
    if (!slash && !commandK) return;
    if (typingIn(document.activeElement)) return;
    event.preventDefault();
    box.focus();
    box.select();
  });
})();
