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
  // Buttons that destroy something ask first (the form names what goes).
  document.addEventListener("submit", function (event) {
    const message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) { event.preventDefault(); return; }
    // A form that takes a while (an import) shows its progress line and cannot be sent twice.
    const busy = event.target.querySelector && event.target.querySelector("[data-busy]");
    if (busy) {
      busy.hidden = false;
      event.target.querySelectorAll("button[type=submit], button:not([type])").forEach((b) => {
        window.setTimeout(() => { b.disabled = true; }, 0);
      });
    }
  });

  // "@" in a comment or a description offers the project's members (their handle is the part of
  // their e-mail address before the @); arrows move, Enter or Tab picks, Escape closes.
  document.querySelectorAll("textarea[data-mentions]").forEach(function (area, index) {
    let members = [];
    try { members = JSON.parse(area.dataset.mentions || "[]"); } catch (e) { return; }
    if (!members.length) { return; }
    const list = document.createElement("ul");
    list.className = "mention-list";
    list.id = "mention-list-" + index;
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Members to mention");
    list.hidden = true;
    area.insertAdjacentElement("afterend", list);
    area.setAttribute("aria-autocomplete", "list");
    area.setAttribute("aria-controls", list.id);
    let matches = [], active = 0, start = -1;

    function close() { list.hidden = true; matches = []; area.removeAttribute("aria-activedescendant"); }
    function render() {
      list.replaceChildren();
      matches.forEach(function (m, i) {
        const item = document.createElement("li");
        item.id = list.id + "-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", i === active ? "true" : "false");
        const handle = document.createElement("strong");
        handle.textContent = "@" + m.handle;
        const name = document.createElement("span");
        name.textContent = " " + m.name;
        item.append(handle, name);
        item.addEventListener("mousedown", function (event) { event.preventDefault(); pick(i); });
        list.appendChild(item);
      });
      list.hidden = !matches.length;
      if (matches.length) { area.setAttribute("aria-activedescendant", list.id + "-" + active); }
    }
    function pick(i) {
      const m = matches[i];
      if (!m) { return; }
      const caret = area.selectionStart;
      const text = "@" + m.handle + " ";
      area.value = area.value.slice(0, start) + text + area.value.slice(caret);
      const at = start + text.length;
      area.setSelectionRange(at, at);
      close();
      area.focus();
    }
    area.addEventListener("input", function () {
      const before = area.value.slice(0, area.selectionStart);
      const found = /(^|[^\w@.+-])@([\w.+-]*)$/.exec(before);
      if (!found) { close(); return; }
      const typed = found[2].toLowerCase();
      start = before.length - typed.length - 1;
      const byHandle = members.filter(function (m) { return m.handle.startsWith(typed); });
      const byName = members.filter(function (m) {
        return !m.handle.startsWith(typed) && m.name.toLowerCase().includes(typed);
      });
      matches = byHandle.concat(byName).slice(0, 8);
      active = 0;
      render();
    });
    area.addEventListener("keydown", function (event) {
      if (list.hidden) { return; }
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        active = (active + (event.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length;
        render();
      } else if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        pick(active);
      } else if (event.key === "Escape") {
        close();
      }
    });
    area.addEventListener("blur", close);
  });
})();
