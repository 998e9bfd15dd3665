// The backlog and planning pages. Drag and drop (SortableJS, for managers): without JavaScript
// the checkboxes with the reorder and move buttons do the same. A drop is saved at once; if saving fails the
// story goes back where it was and the reason is shown. Moving between lists reloads, so totals
// stay exact. With keys.js (members who edit): j/k, Enter, c, 1-4, a, e, ?, a row's title
// renamed in place, and an Undo toast after a status change.
(function () {
  "use strict";
  const form = document.querySelector("[data-project]");
  if (!form) return;
  const project = form.dataset.project;
  const status = document.querySelector("[data-backlog-status]");
  const K = window.plannerKeys || null;

  function say(message, isError) {
    if (!status) return;
    status.textContent = message;
    status.className = isError ? "flash error" : "sr-only";
  }

  // The rows are drawn lean (a page holds hundreds): what only this script uses is added here.
  // A row's number is in its id (s42); its status in its chip (none: to do). The planning page
  // (sprints/_list.html) draws its rows whole.
  const lean = form.id === "backlog-form";
  if (lean) document.querySelectorAll(".backlog-row[id]").forEach(function (row) {
    const number = row.id.slice(1);
    row.dataset.number = number;
    row.dataset.key = project + "-" + number;
    const chip = row.querySelector('[data-row-status] .chip[class*="status-"]');
    row.dataset.status = chip ? chip.className.replace(/.*status-(\S+).*/, "$1") : "todo";
    if (!row.querySelector("[data-row-status]")) {
      const holder = document.createElement("span");
      holder.dataset.rowStatus = "";
      const points = row.querySelector(".meta .chip.points");
      row.querySelector(".meta").insertBefore(holder, points);
    }
    row.tabIndex = -1;
  });

  if (typeof Sortable !== "undefined") {
    document.querySelectorAll("[data-sortable]").forEach(function (list) {
      if (lean) list.classList.add("has-handles");
      if (lean) list.querySelectorAll(".backlog-row").forEach(function (row) {
        const handle = document.createElement("span");
        handle.className = "drag-handle";
        handle.setAttribute("aria-hidden", "true");
        handle.title = "Drag to reorder";
        handle.textContent = "⋮⋮";
        row.prepend(handle);
      });
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
            // The last row of a page goes above the first row of the next page.
            before: next && next.dataset.number ? Number(next.dataset.number)
              : evt.to.dataset.nextNumber ? Number(evt.to.dataset.nextNumber) : null,
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
  }

  if (!K || form.dataset.editable !== "yes") return;

  const statusLabels = JSON.parse(form.dataset.statusLabels || "{}");
  const statusOrder = JSON.parse(form.dataset.statusOrder || "[]");
  function labelOf(key) { return statusLabels[key] || key; }

  // Draw what the API answered into the row (title, status chip, version).
  function drawRow(row, story) {
    row.dataset.version = story.version;
    row.dataset.status = story.status;
    const title = row.querySelector(".title a");
    if (title && title.textContent !== story.title) title.textContent = story.title;
    const chip = row.querySelector("[data-row-status]");
    if (chip) {
      chip.replaceChildren();
      if (story.status !== "todo") {
        const span = document.createElement("span");
        span.className = "chip status-" + story.status;
        span.textContent = labelOf(story.status);
        chip.append(span);
      }
    }
    const who = row.querySelector("[data-row-assignee]");
    if (who) {
      who.replaceChildren();
      if (story.assignee_name) {
        const avatar = document.createElement("span");
        avatar.className = "avatar";
        avatar.title = story.assignee_name;
        avatar.textContent = initials(story.assignee_name, story.assignee || "");
        who.append(avatar);
      }
    }
  }

  // As planner/models/account.py Account.initials writes them.
  function initials(name, email) {
    const parts = name.replace(/-/g, " ").split(/\s+/).filter(Boolean);
    if (!parts.length) return email.slice(0, 2).toUpperCase();
    if (parts.length === 1) return parts[0].slice(0, 2).toUpperCase();
    return (parts[0][0] + parts[parts.length - 1][0]).toUpperCase();
  }

  // Save `changes` based on the row's version; a conflict shows what is there now, saves nothing.
  async function change(row, changes, words, after) {
    try {
      const story = await K.patch(row.dataset.key, row.dataset.version, changes);
      drawRow(row, story);
      row.dataset.needsOutcome = story.needs_outcome ? "yes" : "no";
      if (changes.assignee !== undefined) row.dataset.assignee = String(changes.assignee || "");
      say(words, false);
      if (after) after(story);
    } catch (error) {
      const current = K.current(error);
      if (current) {
        drawRow(row, current);
        say(row.dataset.key + " not changed. " + error.message + " The row now shows their change.", true);
      } else {
        say(row.dataset.key + " not changed: " + error.message, true);
      }
    }
  }

  function setStatus(row, next, isUndo) {
    const previous = row.dataset.status;
    if (previous === next) return;
    if (next === "done" && row.dataset.needsOutcome === "yes" && !isUndo) {
      // The rule lives in the domain (needs_outcome); the row carries its answer.
      say(row.dataset.key + " is an experiment without an outcome: record it on the story's page first.", true);
      return;
    }
    const words = row.dataset.key + (isUndo ? " moved back to " : " moved to ") + labelOf(next) + ".";
    change(row, { status: next }, words, function () {
      if (!isUndo) K.toast(words, function () { setStatus(row, previous, true); });
    });
  }

  function rename(row) {
    const title = row.querySelector(".title a");
    K.edit(title, {
      label: "Title of " + row.dataset.key,
      value: title.textContent.trim(),
      maxLength: 200,
      focusBack: row,
      save: function (value) {
        const text = value.trim();
        if (!text) { say(row.dataset.key + " not renamed: enter a title.", true); return; }
        change(row, { title: text }, row.dataset.key + " renamed.");
      },
    });
  }

  // Each row's rename button (✎) beside its title, in a line of their own.
  document.querySelectorAll(".backlog-row[id] .title > a").forEach(function (link) {
    const row = link.closest(".backlog-row");
    const line = document.createElement("span");
    line.className = "title-line";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "row-rename";
    button.dataset.rowRename = "";
    button.title = "Rename";
    button.setAttribute("aria-label", "Rename " + row.dataset.key);
    button.textContent = "✎";
    button.addEventListener("click", function () { rename(row); });
    link.replaceWith(line);
    line.append(link, button);
  });
  const hint = document.querySelector("[data-keys-hint]");
  if (hint) hint.hidden = false;

  K.list({
    items: function () { return document.querySelectorAll(".backlog-row[data-key]"); },
    help: [
      ["j / k", "Next / previous story"],
      ["Enter", "Open the story"],
      ["1 2 3 4", statusOrder.map(labelOf).join(", ") + ": set the status"],
      ["a", "Assign it to me"],
      ["e", "Rename it here"],
      ["c", "Create a story (the form at the top)"],
      ["z", "Undo the last status change while its note shows (also Ctrl Z)"],
      ["?", "This list"],
      ["Esc", "Close a dialog or an edit"],
    ],
    keys: {
      Enter: function (row) { row.querySelector(".title a").click(); },
      digit: function (row, event) {
        const next = statusOrder[Number(event.key) - 1];
        if (row && next) setStatus(row, next, false);
      },
      a: function (row) {
        if (!row) return;
        if (row.dataset.assignee === form.dataset.me) { say(row.dataset.key + " is already yours.", false); return; }
        change(row, { assignee: Number(form.dataset.me) }, row.dataset.key + " assigned to you.");
      },
      e: function (row) { if (row) rename(row); },
      c: function () {
        const input = document.querySelector(".quick-create input[name='title']");
        if (input) { input.scrollIntoView({ block: "center" }); input.focus(); }
      },
    },
  });
})();
