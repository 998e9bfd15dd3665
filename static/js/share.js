// The copy button beside a new share link: copies the URL and says "Copied" (read out by screen
// readers through the aria-live status). Without JavaScript the button stays hidden and the
// link sits in a read-only field, ready to select and copy by hand.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy-from]").forEach(function (button) {
    const field = document.getElementById(button.dataset.copyFrom);
    const status = document.getElementById(button.dataset.copyStatus);
    if (!field || !status) return;
    button.hidden = false;
    let timer = null;
    function say(text) {
      status.textContent = text;
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { status.textContent = ""; }, 4000);
    }
    function fallback() {
      // Older browsers, or a page not served over HTTPS: select it, try the old command.
      field.focus();
      field.select();
      let copied = false;
      try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
      say(copied ? "Copied" : "Selected: press Ctrl+C (⌘C on a Mac) to copy");
    }
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () { say("Copied"); }, fallback);
      } else {
        fallback();
      }
    });
  });
})();
