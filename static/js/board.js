// The team board. Dragging a card to another column changes its status through the story API,
// sending the version the card was drawn from: a stale move is refused (409) and the card jumps
// to where the other person put it, with their change in words. Without JavaScript a card's Move
// link draws the board with the page's one status form in that card, which does the same. Every few seconds the board asks what changed since it last
// looked and redraws only those cards. With keys.js (members who edit): j/k, 1-4, a, e, c, ?,
// points / stage / assignee changed in place on the card, and an Undo toast after each move.
(function () {
  "use strict";
  const board = document.querySelector("[data-board]");
  if (!board) return;
  const sprintId = board.dataset.sprint;
  const editable = board.dataset.editable === "yes";
  const status = document.querySelector("[data-board-status]");
  const dialog = document.getElementById("outcome-dialog");
  const POLL_MS = 5000;
  let since = board.dataset.now || null;
  // The ETag of the last refresh drawn: sent back as If-None-Match, so that a board nothing
  // changed on answers 304 with no body (and we keep `since`). Forgotten whenever we ask for
  // everything again (since = null), so that such an ask is never answered 304.
  let etag = null;
  let busy = 0;
  const K = window.plannerKeys || null;
  let keys = null;  // the roving focus over the cards (keys.js), once set up below
  board.classList.add("is-live");  // the card's own status form hides until the card has focus

  // Filters apply at once; the Show button stays for the page without JavaScript.
  const filters = document.querySelector("[data-autosubmit]");
  if (filters) {
    filters.querySelectorAll("[data-autosubmit-button]").forEach(function (b) { b.hidden = true; });
    filters.addEventListener("change", function () { filters.submit(); });
  }
  // On a phone the filters fold away under their summary.
  const filterPanel = document.querySelector("[data-board-filters]");
  if (filterPanel && window.matchMedia("(max-width: 700px)").matches) filterPanel.open = false;

  function say(message, kind) {
    if (!status) return;
    status.textContent = message;
    status.className = "board-status" + (kind ? " flash " + kind : "");
  }

  function listFor(lane, cardStatus) {
    return board.querySelector(
      '.board-list[data-lane="' + CSS.escape(lane) + '"][data-status="' + cardStatus + '"]'
    );
  }

  function laneOf(card) {
    const list = card.closest(".board-list");
    return list ? list.dataset.lane : "all";
  }

  // The headings' numbers come from the server (planner/domain/board.py, board_totals), drawn
  // in the page and sent with every refresh; this script never counts for itself.
  function showTotals(totals) {
    if (!totals) return;
    const labels = new Map(totals.columns.map(function (c) { return [c.lane + "|" + c.status, c.label]; }));
    board.querySelectorAll(".board-column").forEach(function (column) {
      const counter = column.querySelector("[data-count]");
      const label = labels.get(column.dataset.lane + "|" + column.dataset.status);
      if (counter) counter.textContent = label || "0 · 0 pts";
    });
    const progress = document.querySelector("[data-progress]");
    if (progress) {
      // Widths are classes (pct-0 .. pct-100): the CSP allows no inline styles.
      progress.querySelector(".progress span").className = "pct-" + totals.percent_done;
      progress.querySelector("[data-progress-text]").textContent = totals.progress_label;
    }
  }

  // Keep each column in backlog order (rank), whatever order cards arrive in.
  function insertSorted(list, card) {
    const rank = Number(card.dataset.rank);
    const after = Array.prototype.find.call(list.children, function (other) {
      return other !== card && Number(other.dataset.rank) > rank;
    });
    list.insertBefore(card, after || null);
  }

  // The card as the page shows it now: a refresh may have redrawn it since it was picked up.
  function current(card) {
    return document.getElementById(card.id) || card;
  }

  function setCard(card, story) {
    card = current(card);
    card.dataset.version = story.version;
    card.dataset.status = story.status;
    card.dataset.outcome = story.outcome || "";
    card.dataset.needsOutcome = story.needs_outcome ? "yes" : "no";
    const form = card.querySelector(".card-move");
    if (form) {
      form.querySelector('input[name="version"]').value = story.version;
      form.querySelector("[data-card-status]").value = story.status;
    }
    const chip = card.querySelector(".chip.type-experiment");
    if (chip && story.outcome) {
      const outcomes = JSON.parse(board.dataset.outcomeLabels || "{}");
      chip.textContent = "Experiment" + (story.outcome !== "pending" ? " · " + (outcomes[story.outcome] || story.outcome) : "");
    }
    const target = listFor(laneOf(card), story.status);
    if (target && card.parentElement !== target) {
      const hadFocus = card.contains(document.activeElement);
      insertSorted(target, card);
      if (hadFocus) focusCard(card);
    }
  }

  function focusCard(card) {
    if (keys) keys.refocus(card, true);
    else card.focus();
  }

  function askOutcome(card) {
    return new Promise(function (resolve) {
      if (!dialog) { resolve(null); return; }
      dialog.querySelector("[data-outcome-story]").textContent =
        card.dataset.key + ": " + card.querySelector(".card-title").textContent;
      dialog.querySelector("textarea").value = "";
      dialog.querySelector("select").value = "";  // no default: the person must choose
      dialog.returnValue = "";
      dialog.addEventListener("close", function handler() {
        dialog.removeEventListener("close", handler);
        if (dialog.returnValue !== "save" || !dialog.querySelector("select").value) {
          resolve(null);
          return;
        }
        resolve({
          outcome: dialog.querySelector("select").value,
          result: dialog.querySelector("textarea").value,
        });
      });
      dialog.showModal();
    });
  }

  // Move a card to `next` status; `undo` puts it back where it was when the move fails. After
  // a move an Undo toast offers to move it back (another versioned change, kept in history).
  async function move(card, next, undo, isUndo) {
    card = current(card);
    const previous = card.dataset.status;
    const body = { version: Number(card.dataset.version), status: next };
    // The rule lives in the domain (needs_outcome); the card carries its answer.
    const pendingExperiment = card.dataset.needsOutcome === "yes";
    busy += 1;  // no refresh redraws the card while it moves (or while the dialog asks)
    try {
      if (next === "done" && pendingExperiment) {
        const recorded = await askOutcome(card);
        if (!recorded) { undo(); say(card.dataset.key + " stays where it was: no outcome recorded.", "info"); return; }
        Object.assign(body, recorded);
      }
      const story = await window.plannerFetch(
        "/api/v1/stories/" + encodeURIComponent(card.dataset.key),
        { method: "PATCH", body: JSON.stringify(body) }
      );
      setCard(card, story);
      const words = card.dataset.key + (isUndo ? " moved back to " : " moved to ") + labelOf(story.status) + ".";
      say(words, "success");
      if (K && !isUndo && previous !== story.status) {
        K.toast(words, function () { move(card, previous, function () {}, true); });
      }
    } catch (error) {
      const current = error.body && error.body.error && error.body.error.details &&
        error.body.error.details.current;
      if (error.status === 409 && current) {
        setCard(card, current);  // show their change instead of overwriting it
        say(card.dataset.key + " not moved. " + error.message, "error");
      } else {
        undo();
        say(card.dataset.key + " not moved: " + error.message, "error");
      }
    } finally {
      busy -= 1;
      poll();  // fresh totals, and anyone else's changes
    }
  }

  // Status names come from the page (planner/vocab.py), not from a copy here.
  const statusLabels = JSON.parse(board.dataset.statusLabels || "{}");
  const statusOrder = JSON.parse(board.dataset.statusOrder || "[]");
  function labelOf(key) {
    return statusLabels[key] || key;
  }

  // The cards are drawn lean (board/_cards.html: a board holds hundreds); what only this script
  // uses is added here, on each card as it is drawn (the page's and each refresh's): its number
  // and key (from its id), its status (its column), its estimate, and for editors the holders of
  // the in-place editors (with "No stage" and "–" for the empty ones).
  function leanCard(card) {
    if (card.dataset.number) return;
    const number = card.id.slice(1);
    card.dataset.number = number;
    card.dataset.key = board.dataset.project + "-" + number;
    const list = card.closest(".board-list");
    if (list && !card.dataset.status) card.dataset.status = list.dataset.status;
    const points = card.querySelector(".card-meta .chip.points");
    card.dataset.estimate = points && !points.classList.contains("unestimated") ? points.textContent.trim() : "";
    if (!card.dataset.assignee) card.dataset.assignee = "";
    if (!card.dataset.stage) card.dataset.stage = "";
    card.tabIndex = -1;
    if (!editable) return;
    const meta = card.querySelector(".card-meta");
    const right = meta.querySelector(".card-right");
    function hold(field, inside, where, empty, emptyTitle) {
      const holder = document.createElement("span");
      holder.dataset.edit = field;
      if (inside) {
        inside.replaceWith(holder);
        holder.append(inside);
      } else {
        const blank = document.createElement("span");
        blank.className = (field === "assignee" ? "avatar" : "chip") + " edit-empty";
        blank.textContent = empty;
        if (emptyTitle) blank.title = emptyTitle;
        holder.append(blank);
        where(holder);
      }
    }
    hold("stage", meta.querySelector(":scope > .chip.stage"), function (h) { meta.prepend(h); }, "No stage");
    hold("points", right.querySelector(":scope > .chip.points"), function (h) { right.prepend(h); }, "?");
    hold("assignee", right.querySelector(":scope > .avatar"), function (h) { right.append(h); }, "–", "Unassigned");
  }

  function wireCard(card) {
    leanCard(card);
    if (K && editable) {
      card.querySelectorAll("[data-edit]").forEach(function (holder) {
        holder.setAttribute("role", "button");
        holder.tabIndex = 0;
        holder.setAttribute("aria-label", "Change " + EDIT_NAMES[holder.dataset.edit] + " of " + card.dataset.key);
      });
    }
  }

  // --- the page's one status form (board/_cards.html, move_form) -------------------------------
  // Without JavaScript a card's Move link draws the page again with the form in that card. Here
  // the form follows the focus into whichever card it enters, set to that card, and is sent
  // without leaving the page. It is not sent on every change of the select: keyboard users
  // browse options with the arrow keys.
  const moveForm = board.querySelector(".card-move") || document.querySelector("[data-move-form]");
  const moveSelect = moveForm && moveForm.querySelector("[data-card-status]");

  function placeForm(card) {
    card = current(card);
    if (!card.contains(moveForm)) card.append(moveForm);
    moveForm.hidden = false;
    moveForm.action = moveForm.action.replace(/\/\d+$/, "/" + card.dataset.number);
    moveForm.querySelector('input[name="version"]').value = card.dataset.version;
    moveSelect.value = card.dataset.status;
    const key = moveForm.querySelector("[data-move-key]");
    if (key) key.textContent = card.dataset.key;
  }

  if (moveForm && editable) {
    board.addEventListener("focusin", function (event) {
      const card = event.target.closest && event.target.closest(".board-card");
      if (card && !card.contains(moveForm)) placeForm(card);
    });
    // A status picked stays in sight with its Move button until the focus leaves the card.
    moveSelect.addEventListener("change", function () {
      const card = moveForm.closest(".board-card");
      if (card) card.classList.add("show-move");
    });
    board.addEventListener("focusout", function (event) {
      const card = event.target.closest && event.target.closest(".board-card");
      if (card && !card.contains(event.relatedTarget)) card.classList.remove("show-move");
    });
    moveForm.addEventListener("submit", function (event) {
      event.preventDefault();
      const card = moveForm.closest(".board-card");
      if (!card) return;
      const previous = card.dataset.status;
      if (moveSelect.value === previous) return;
      move(card, moveSelect.value, function () {
        moveSelect.value = previous;
      });
    });
  }

  if (editable && typeof Sortable !== "undefined") {
    board.querySelectorAll(".board-list").forEach(function (list) {
      Sortable.create(list, {
        group: "lane-" + list.dataset.lane,  // cards change column, never lane
        draggable: ".board-card",
        filter: "select, button, a, input, [data-edit]",
        preventOnFilter: false,
        animation: 120,
        onEnd: function (evt) {
          if (evt.from === evt.to) return;
          const card = evt.item;
          const from = evt.from;
          const anchor = from.children[evt.oldIndex] || null;
          move(card, evt.to.dataset.status, function () {
            from.insertBefore(card, anchor);
          });
        },
      });
    });
  }

  // --- in-place edits (points, stage, assignee, title) ------------------------------------------
  const EDIT_NAMES = { points: "points", stage: "stage", assignee: "assignee", title: "title" };
  const choices = JSON.parse(board.dataset.choices || "{}");

  function nameOf(field, value) {
    const pair = (choices[field] || []).find(function (p) { return p[0] === String(value == null ? "" : value); });
    return pair ? pair[1] : String(value);
  }

  // Save `changes` to the card's story based on the version it was drawn from. A conflict shows
  // the other person's change (the card is redrawn as it is now) and saves nothing.
  async function change(card, changes, words) {
    card = current(card);
    busy += 1;
    try {
      const story = await K.patch(card.dataset.key, card.dataset.version, changes);
      setCard(card, story);
      say(words, "success");
    } catch (error) {
      const current = K.current(error);
      if (current) {
        setCard(card, current);
        say(card.dataset.key + " not changed. " + error.message + " The card now shows their change.", "error");
      } else {
        say(card.dataset.key + " not changed: " + error.message, "error");
      }
    } finally {
      busy -= 1;
      poll();  // redraw the card as the server draws it
    }
  }

  function editField(card, field) {
    const holder = field === "title" ? card.querySelector(".card-title") : card.querySelector('[data-edit="' + field + '"]');
    if (!holder) return;
    const key = card.dataset.key;
    const value = field === "title" ? holder.textContent.trim()
      : field === "points" ? card.dataset.estimate
      : field === "stage" ? card.dataset.stage : card.dataset.assignee;
    K.edit(holder, {
      label: (field === "title" ? "Title" : field === "points" ? "Points" : field === "stage" ? "Stage" : "Assignee") + " of " + key,
      value: value,
      options: field === "title" ? null : choices[field],
      maxLength: 200,
      focusBack: card,
      save: function (picked) {
        let sent = picked === "" ? null : picked;
        if (sent !== null && (field === "points" || field === "assignee")) sent = Number(sent);
        const words = field === "title" ? key + " renamed."
          : field === "points" ? key + (sent === null ? " unestimated." : " estimated at " + sent + " points.")
          : field === "stage" ? key + " stage: " + nameOf("stage", picked) + "."
          : key + (sent === null ? " unassigned." : " assigned to " + nameOf("assignee", picked) + ".");
        change(card, { [field]: sent }, words);
      },
    });
  }

  if (K && editable) {
    board.addEventListener("click", function (event) {
      const holder = event.target.closest("[data-edit]");
      if (!holder || !board.contains(holder)) return;
      event.preventDefault();
      editField(holder.closest(".board-card"), holder.dataset.edit);
    });
    board.addEventListener("keydown", function (event) {
      const holder = event.target.closest && event.target.closest("[data-edit]");
      if (!holder || (event.key !== "Enter" && event.key !== " ")) return;
      event.preventDefault();
      event.stopPropagation();
      editField(holder.closest(".board-card"), holder.dataset.edit);
    });
  }

  // --- "+ Story" in a column ---------------------------------------------------------------------
  function openCreate(column) {
    const details = column && column.querySelector("[data-column-create]");
    if (!details) return;
    details.open = true;
    details.querySelector('input[name="title"]').focus();
  }

  board.querySelectorAll("[data-column-form]").forEach(function (form) {
    const error = form.querySelector("[data-column-error]");
    const input = form.querySelector('input[name="title"]');
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        form.closest("details").open = false;
        form.closest("details").querySelector("summary").focus();
      }
    });
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const data = new FormData(form);
      const body = { title: String(data.get("title") || "").trim() };
      ["status", "stage", "epic"].forEach(function (f) { if (data.get(f)) body[f] = String(data.get(f)); });
      body.sprint = Number(data.get("sprint"));
      if (data.get("assignee")) body.assignee = Number(data.get("assignee"));
      error.hidden = true;
      if (!body.title) {
        error.textContent = "Enter a title.";
        error.hidden = false;
        input.focus();
        return;
      }
      try {
        const story = await window.plannerFetch(board.dataset.create, { method: "POST", body: JSON.stringify(body) });
        input.value = "";
        say(story.key + " added to " + labelOf(story.status) + ".", "success");
        await poll();
        input.focus();  // ready for the next one
      } catch (failure) {
        const details = failure.body && failure.body.error && failure.body.error.details;
        error.textContent = "Not added: " + (details ? Object.values(details).join(" ") : failure.message);
        error.hidden = false;
      }
    });
  });

  // --- keys ------------------------------------------------------------------------------------
  if (K && editable) {
    keys = K.list({
      items: function () { return board.querySelectorAll(".board-card"); },
      help: [
        ["j / k", "Next / previous card"],
        ["Enter", "Open the story"],
        ["1 2 3 4", statusOrder.map(labelOf).join(", ") + ": set the status"],
        ["a", "Assign it to me"],
        ["e", "Edit the title here"],
        ["c", "Create a story in this column"],
        ["z", "Undo the last move while its note shows (also Ctrl Z)"],
        ["?", "This list"],
        ["Esc", "Close a dialog or an edit"],
      ],
      keys: {
        Enter: function (card) { card.querySelector(".card-title").click(); },
        digit: function (card, event) {
          const next = statusOrder[Number(event.key) - 1];
          if (!card || !next || card.dataset.status === next) return;
          move(card, next, function () {});
        },
        a: function (card) {
          if (!card) return;
          const me = board.dataset.me;
          if (card.dataset.assignee === me) { say(card.dataset.key + " is already yours.", "info"); return; }
          change(card, { assignee: Number(me) }, card.dataset.key + " assigned to you.");
        },
        e: function (card) { if (card) editField(card, "title"); },
        c: function (card) {
          openCreate(card ? card.closest(".board-column") : board.querySelector(".board-column"));
        },
      },
    });
  }
  board.querySelectorAll(".board-card").forEach(wireCard);

  async function poll() {
    if (document.hidden || busy > 0 || board.querySelector(".inline-edit")) return;
    const params = new URLSearchParams(board.dataset.query || "");
    params.set("sprint", sprintId);
    if (since) params.set("since", since);
    params.set("here", board.dataset.here || "");
    const asked = since ? etag : null;
    let data;
    let fresh;
    try {
      const response = await fetch(board.dataset.changes + "?" + params.toString(), {
        headers: Object.assign({ "Accept": "application/json" }, asked ? { "If-None-Match": asked } : {}),
        credentials: "same-origin",
        cache: "no-store",  // the ETag is ours to send: a 304 comes back to us, not from a cache
      });
      if (response.status === 304) return;  // nothing changed: keep `since` and the cards
      if (!response.ok) return;  // offline or signed out for a moment: try at the next tick
      fresh = response.headers.get("ETag");
      data = await response.json();
    } catch (error) {
      return;  // offline for a moment: try again at the next tick
    }
    if (busy > 0) return;
    since = data.now;
    etag = fresh;
    const wanted = new Map(data.cards.map(function (c) { return [String(c.number), c.version]; }));
    board.querySelectorAll(".board-card").forEach(function (card) {
      if (!wanted.has(card.dataset.number)) card.remove();
    });
    if (data.changed.some(function (change) { return !listFor(change.lane, change.status); })) {
      window.location.reload();  // a card joined a swimlane this page does not have yet
      return;
    }
    let lost = false;
    data.changed.forEach(function (change) {
      const holder = document.createElement("template");
      holder.innerHTML = change.html.trim();
      const fresh = holder.content.firstElementChild;
      const old = document.getElementById("c" + change.number);
      const hadFocus = old && old.contains(document.activeElement);
      const wasCurrent = old && old.tabIndex === 0;
      if (old) old.remove();
      insertSorted(listFor(change.lane, change.status), fresh);
      wireCard(fresh);
      if (hadFocus) focusCard(fresh);
      else if (wasCurrent && keys) keys.refocus(fresh, false);
    });
    // A version we do not have, not reported as changed: redraw everything to be safe.
    board.querySelectorAll(".board-card").forEach(function (card) {
      if (wanted.has(card.dataset.number) && String(wanted.get(card.dataset.number)) !== card.dataset.version) lost = true;
    });
    wanted.forEach(function (version, number) {
      if (!document.getElementById("c" + number)) lost = true;
    });
    if (lost) { since = null; etag = null; return; }
    showTotals(data.totals);
  }
  window.plannerBoardPoll = poll;  // lets tests and impatient people refresh now (or never)
  function tick() { window.plannerBoardPoll(); }
  window.setInterval(tick, POLL_MS);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) tick(); });
})();
