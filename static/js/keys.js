// Shared by the board, the backlog and the story page: single-key shortcuts over a list of
// stories (roving tabindex), in-place editing of one field, saving through the story API with
// the version the page was drawn from, an "Undo" toast after a move, and the "?" key list.
// Every page works without it: the forms in the page do the same, one submit at a time.
(function () {
  "use strict";

  const K = {};

  // Keys are ignored while the person types in a field, or while a dialog is open.
  K.typing = function (event) {
    const el = event.target;
    if (!el || !el.closest) return false;
    if (el.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']")) return true;
    return Boolean(document.querySelector("dialog[open]"));
  };

  K.story = function (key) { return "/api/v1/stories/" + encodeURIComponent(key); };

  // PATCH a story based on `version`; resolves with the story, rejects with the API's error.
  K.patch = function (key, version, changes) {
    const body = Object.assign({ version: Number(version) }, changes);
    return window.plannerFetch(K.story(key), { method: "PATCH", body: JSON.stringify(body) });
  };

  // The story as it is now, when a change was refused because someone else changed it first.
  K.current = function (error) {
    const details = error && error.body && error.body.error && error.body.error.details;
    return error && error.status === 409 && details ? details.current || null : null;
  };

  // One polite live region per page; `region` may name the page's own.
  K.announce = function (message, kind, region) {
    const el = region || K.region();
    el.textContent = message;
    if (el.dataset.keysRegion !== undefined) return;
    el.classList.toggle("flash", Boolean(kind));
    el.classList.remove("error", "success", "info");
    if (kind) el.classList.add(kind);
  };
  K.region = function () {
    let el = document.querySelector("[data-keys-region]");
    if (!el) {
      el = document.createElement("p");
      el.className = "sr-only";
      el.setAttribute("role", "status");
      el.setAttribute("aria-live", "polite");
      el.dataset.keysRegion = "";
      document.body.appendChild(el);
    }
    return el;
  };

  // --- the Undo toast ----------------------------------------------------------------------
  let toastTimer = null;
  let toastUndo = null;
  function toastEl() {
    let el = document.querySelector("[data-undo-toast]");
    if (el) return el;
    el = document.createElement("div");
    el.className = "undo-toast";
    el.dataset.undoToast = "";
    el.hidden = true;
    const text = document.createElement("span");
    text.dataset.toastText = "";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "linklike";
    button.textContent = "Undo";
    button.addEventListener("click", function () { K.undo(); });
    el.append(text, " ", button);
    document.body.appendChild(el);
    return el;
  }
  K.hideToast = function () {
    const el = document.querySelector("[data-undo-toast]");
    if (el) el.hidden = true;
    window.clearTimeout(toastTimer);
    toastUndo = null;
  };
  // Show `message` with an Undo button for about six seconds; `undo` runs at most once.
  K.toast = function (message, undo) {
    const el = toastEl();
    el.querySelector("[data-toast-text]").textContent = message;
    el.hidden = false;
    toastUndo = undo;
    window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(K.hideToast, 6000);
  };
  K.undo = function () {
    const undo = toastUndo;
    K.hideToast();
    if (undo) undo();
  };
  document.addEventListener("keydown", function (event) {
    if (!toastUndo || event.altKey || event.defaultPrevented) return;
    const z = event.key === "z" || event.key === "Z";
    if (!z || K.typing(event)) return;
    if (event.ctrlKey || event.metaKey || !event.shiftKey) {
      event.preventDefault();
      K.undo();
    }
  });

  // --- the key list ------------------------------------------------------------------------
  // rows: [["j / k", "Next / previous story"], ...]
  K.helpDialog = function (rows) {
    let dialog = document.getElementById("keys-dialog");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "keys-dialog";
      dialog.className = "keys-dialog";
      dialog.setAttribute("aria-labelledby", "keys-dialog-title");
      const title = document.createElement("h2");
      title.id = "keys-dialog-title";
      title.textContent = "Keyboard shortcuts";
      const list = document.createElement("dl");
      list.className = "keys-list";
      rows.forEach(function (row) {
        const dt = document.createElement("dt");
        row[0].split(" ").forEach(function (part) {
          if (part === "/" || part === "or") { dt.append(" " + part + " "); return; }
          const kbd = document.createElement("kbd");
          kbd.textContent = part;
          dt.append(kbd);
        });
        const dd = document.createElement("dd");
        dd.textContent = row[1];
        list.append(dt, dd);
      });
      const note = document.createElement("p");
      note.className = "small muted";
      note.textContent = "Keys do nothing while you type in a field.";
      const form = document.createElement("form");
      form.method = "dialog";
      const close = document.createElement("button");
      close.className = "button secondary";
      close.textContent = "Close";
      form.append(close);
      dialog.append(title, list, note, form);
      document.body.appendChild(dialog);
    }
    return dialog;
  };

  // --- keys over a list of stories -----------------------------------------------------------
  // opts.items(): the items in order; opts.keys: { "j": fn(item, event), ... } where an item is
  // the focused story or null. "j", "k" and "?" are handled here.
  K.list = function (opts) {
    let current = null;
    function items() { return Array.prototype.slice.call(opts.items()); }
    function setCurrent(item, focus) {
      items().forEach(function (other) { other.tabIndex = other === item ? 0 : -1; });
      current = item;
      if (item && focus) item.focus();
    }
    function focused() {
      const active = document.activeElement;
      const item = items().find(function (i) { return i === active || i.contains(active); });
      if (item) return item;
      return current && document.contains(current) ? current : null;
    }
    const first = items()[0];
    if (first) setCurrent(first, false);
    document.addEventListener("focusin", function (event) {
      const item = items().find(function (i) { return i.contains(event.target); });
      if (item && item !== current) setCurrent(item, false);
    });
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
      if (K.typing(event)) return;
      const key = event.key;
      if (key === "?") {
        event.preventDefault();
        K.helpDialog(opts.help).showModal();
        return;
      }
      if (key === "j" || key === "k") {
        event.preventDefault();
        const all = items();
        if (!all.length) return;
        const active = document.activeElement;
        const inside = all.find(function (i) { return i.contains(active); });
        // The first j or k takes the focus to the list, at the story it last had.
        const at = inside ? all.indexOf(inside) : -1;
        let next;
        if (at < 0) next = current && document.contains(current) ? current : all[0];
        else next = all[Math.max(0, Math.min(all.length - 1, at + (key === "j" ? 1 : -1)))];
        setCurrent(next, true);
        return;
      }
      const item = focused();
      if (key === "Enter") {
        // Only on the story itself: Enter on a link or button inside does what it always does.
        if (item && document.activeElement === item && opts.keys.Enter) {
          event.preventDefault();
          opts.keys.Enter(item, event);
        }
        return;
      }
      const handler = opts.keys[key] || (/^[1-9]$/.test(key) && opts.keys.digit);
      if (!handler) return;
      event.preventDefault();
      handler(item, event);
    });
    return {
      focus: function (item) { setCurrent(item, true); },
      current: focused,
      // After an item was redrawn or moved, keep the focus on it.
      refocus: function (item, hadFocus) { setCurrent(item, hadFocus); },
    };
  };

  // --- editing one field in place --------------------------------------------------------------
  // Replace `anchor` (a chip or a title) by a small select or text input until the person picks,
  // presses Enter, Escape or leaves it. opts: label, value, options ([[value, label]]) or none for
  // a text input, maxLength, save(value) returning a promise (the anchor comes back either way).
  K.edit = function (anchor, opts) {
    if (anchor.hidden) return;
    let control;
    if (opts.options) {
      control = document.createElement("select");
      opts.options.forEach(function (pair) {
        const option = document.createElement("option");
        option.value = pair[0];
        option.textContent = pair[1];
        control.append(option);
      });
    } else {
      control = document.createElement("input");
      control.type = "text";
      control.required = true;
      if (opts.maxLength) control.maxLength = opts.maxLength;
    }
    control.className = "inline-edit";
    control.value = opts.value == null ? "" : String(opts.value);
    control.setAttribute("aria-label", opts.label);
    anchor.hidden = true;
    anchor.insertAdjacentElement("afterend", control);
    control.focus();
    if (control.select && control.tagName === "INPUT") control.select();
    let done = false;
    function finish(save) {
      if (done) return;
      done = true;
      const value = control.value;
      control.remove();
      anchor.hidden = false;
      const focusBack = opts.focusBack || anchor;
      if (focusBack && focusBack.focus) focusBack.focus();
      if (save && value !== (opts.value == null ? "" : String(opts.value))) opts.save(value);
    }
    control.addEventListener("keydown", function (event) {
      event.stopPropagation();  // the list's keys stay quiet while editing
      if (event.key === "Escape") { event.preventDefault(); finish(false); }
      if (event.key === "Enter") { event.preventDefault(); finish(true); }
    });
    if (opts.options) control.addEventListener("change", function () { finish(true); });
    control.addEventListener("blur", function () { finish(!opts.options); });
    control.addEventListener("click", function (event) { event.stopPropagation(); });
    control.addEventListener("mousedown", function (event) { event.stopPropagation(); });
  };

  window.plannerKeys = K;

  // --- the story page's quick controls (templates/stories/_quickbar.html) -----------------------
  const bar = document.querySelector("[data-quickbar]");
  if (!bar) return;
  bar.hidden = false;
  const choices = JSON.parse(bar.dataset.choices || "{}");
  const statusOrder = (choices.status || []).map(function (c) { return c[0]; });
  const NAMES = { status: "Status", points: "Points", assignee: "Assignee" };
  function label(field, value) {
    const pair = (choices[field] || []).find(function (c) { return String(c[0]) === String(value == null ? "" : value); });
    return pair ? pair[1] : String(value);
  }
  function button(field) { return bar.querySelector('[data-quick="' + field + '"]'); }
  function describe(field) {
    const b = button(field);
    b.setAttribute("aria-label", NAMES[field] + ": " + b.textContent + ". Change");
  }
  Object.keys(NAMES).forEach(describe);

  // The form below was drawn from the same version: keep it in step, so saving it later does not
  // undo a quick change nor meet a conflict of one's own making.
  function syncForm(story, field, value) {
    document.querySelectorAll('form input[name="version"]').forEach(function (input) {
      if (input.form && input.form.querySelector('[name="' + field + '"]')) {
        input.value = story.version;
        input.form.querySelector('[name="' + field + '"]').value = value;
      }
    });
  }

  // The page's heading shows the status, the points and the version: they follow too.
  function syncHeader(story) {
    const head = bar.closest(".page-head") || document;
    const status = head.querySelector('.chip[class*="status-"]');
    if (status) {
      status.className = "chip status-" + story.status;
      status.textContent = label("status", story.status);
    }
    const points = head.querySelector(".chip.points");
    if (points) {
      points.classList.toggle("unestimated", story.points === null);
      points.textContent = story.points === null ? "?" : String(story.points);
      points.title = story.points === null ? "Unestimated" : story.points + (story.points === 1 ? " point" : " points");
    }
    head.querySelectorAll(".mono").forEach(function (line) {
      line.textContent = line.textContent.replace(/version \d+/, "version " + story.version);
    });
  }

  async function save(field, value, isUndo) {
    const previous = button(field).dataset.value;
    let sent = value === "" ? null : value;
    if (sent !== null && (field === "points" || field === "assignee")) sent = Number(sent);
    const key = bar.dataset.key;
    try {
      const story = await K.patch(key, bar.dataset.version, { [field]: sent });
      bar.dataset.version = story.version;
      bar.dataset.needsOutcome = story.needs_outcome ? "yes" : "no";
      const b = button(field);
      b.dataset.value = value;
      b.textContent = label(field, value);
      describe(field);
      syncForm(story, field, value);
      syncHeader(story);
      const words = field === "status"
        ? key + (isUndo ? " moved back to " : " moved to ") + label("status", value) + "."
        : key + " " + NAMES[field].toLowerCase() + ": " + label(field, value) + ".";
      // A move's words are in the Undo toast already: the region then only speaks them.
      const toasted = field === "status" && !isUndo;
      K.announce(words, toasted ? null : "success", region);
      if (toasted) K.toast(words, function () { save("status", previous, true); });
    } catch (error) {
      const current = K.current(error);
      if (current) {
        K.announce(key + " not changed. " + error.message + " Reload the page to see their change.", "error", region);
      } else {
        K.announce(key + " not changed: " + error.message, "error", region);
      }
    }
  }

  const region = document.createElement("p");
  region.setAttribute("role", "status");
  region.setAttribute("aria-live", "polite");
  region.className = "small quickbar-status";
  bar.insertAdjacentElement("afterend", region);

  function edit(field) {
    const b = button(field);
    K.edit(b, {
      label: NAMES[field] + " of " + bar.dataset.key,
      value: b.dataset.value,
      options: choices[field],
      save: function (value) { setValue(field, value); },
    });
  }
  function setValue(field, value) {
    if (field === "status" && value === "done" && bar.dataset.needsOutcome === "yes") {
      K.announce(bar.dataset.key + " is an experiment: choose its outcome in the form below before it is done.", "error", region);
      return;
    }
    save(field, value, false);
  }
  Object.keys(NAMES).forEach(function (field) {
    button(field).addEventListener("click", function () { edit(field); });
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented || K.typing(event)) return;
    if (event.key === "?") {
      event.preventDefault();
      K.helpDialog([
        ["1 2 3 4", statusOrder.map(function (s) { return label("status", s); }).join(", ") + ": set the status"],
        ["a", "Assign it to me"],
        ["e", "Edit the story (the form below)"],
        ["z", "Undo the last status change while its note shows (also Ctrl Z)"],
        ["?", "This list"],
        ["Esc", "Close a dialog or an edit"],
      ]).showModal();
    } else if (/^[1-9]$/.test(event.key) && statusOrder[Number(event.key) - 1]) {
      event.preventDefault();
      const next = statusOrder[Number(event.key) - 1];
      if (next !== button("status").dataset.value) setValue("status", next);
    } else if (event.key === "a") {
      event.preventDefault();
      if (button("assignee").dataset.value !== bar.dataset.me) save("assignee", bar.dataset.me, false);
    } else if (event.key === "e") {
      const title = document.querySelector('form [name="title"]');
      if (title) { event.preventDefault(); title.focus(); }
    }
  });
})();
