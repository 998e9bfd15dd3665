// The team board. Dragging a card to another column changes its status through the story API,
// sending the version the card was drawn from: a stale move is refused (409) and the card jumps
// to where the other person put it, with their change in words. Without JavaScript each card's
// own small form does the same. Every few seconds the board asks what changed since it last
// looked and redraws only those cards.
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
  let busy = 0;

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

  function setCard(card, story) {
    card.dataset.version = story.version;
    card.dataset.status = story.status;
    card.dataset.outcome = story.outcome || "";
    card.dataset.needsOutcome = story.needs_outcome ? "yes" : "no";
    const form = card.querySelector(".card-move");
    if (form) {
      form.querySelector('input[name="version"]').value = story.version;
      form.querySelector("[data-card-status]").value = story.status;
    }
    const target = listFor(laneOf(card), story.status);
    if (target && card.parentElement !== target) insertSorted(target, card);
  }

  function askOutcome(card) {
    return new Promise(function (resolve) {
      if (!dialog) { resolve(null); return; }
      dialog.querySelector("[data-outcome-story]").textContent =
        card.dataset.key + ": " + card.querySelector(".card-title").textContent;
      dialog.querySelector("textarea").value = "";
      dialog.returnValue = "";
      dialog.addEventListener("close", function handler() {
        dialog.removeEventListener("close", handler);
        if (dialog.returnValue !== "save") { resolve(null); return; }
        resolve({
          outcome: dialog.querySelector("select").value,
          result: dialog.querySelector("textarea").value,
        });
      });
      dialog.showModal();
    });
  }

  // Move a card to `next` status; `undo` puts it back where it was when the move fails.
  async function move(card, next, undo) {
    const body = { version: Number(card.dataset.version), status: next };
    // The rule lives in the domain (needs_outcome); the card carries its answer.
    const pendingExperiment = card.dataset.needsOutcome === "yes";
    if (next === "done" && pendingExperiment) {
      const recorded = await askOutcome(card);
      if (!recorded) { undo(); say(card.dataset.key + " stays where it was: no outcome recorded.", "info"); return; }
      Object.assign(body, recorded);
    }
    busy += 1;
    try {
      const story = await window.plannerFetch(
        "/api/v1/stories/" + encodeURIComponent(card.dataset.key),
        { method: "PATCH", body: JSON.stringify(body) }
      );
      setCard(card, story);
      say(card.dataset.key + " moved to " + labelOf(story.status) + ".", "success");
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
  function labelOf(key) {
    return statusLabels[key] || key;
  }

  // The card's own form (status + Move) is sent without leaving the page. It is not sent on
  // every change of the select: keyboard users browse options with the arrow keys.
  function wireCard(card) {
    const form = card.querySelector(".card-move");
    if (!form) return;
    const select = form.querySelector("[data-card-status]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const previous = card.dataset.status;
      if (select.value === previous) return;
      move(card, select.value, function () {
        select.value = previous;
      });
    });
  }

  if (editable && typeof Sortable !== "undefined") {
    board.querySelectorAll(".board-list").forEach(function (list) {
      Sortable.create(list, {
        group: "lane-" + list.dataset.lane,  // cards change column, never lane
        draggable: ".board-card",
        filter: "select, button, a, input",
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
  board.querySelectorAll(".board-card").forEach(wireCard);

  async function poll() {
    if (document.hidden || busy > 0) return;
    const params = new URLSearchParams(board.dataset.query || "");
    params.set("sprint", sprintId);
    if (since) params.set("since", since);
    params.set("here", board.dataset.here || "");
    let data;
    try {
      data = await window.plannerFetch(board.dataset.changes + "?" + params.toString());
    } catch (error) {
      return;  // offline for a moment: try again at the next tick
    }
    if (busy > 0) return;
    since = data.now;
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
      if (old) old.remove();
      insertSorted(listFor(change.lane, change.status), fresh);
      wireCard(fresh);
    });
    // A version we do not have, not reported as changed: redraw everything to be safe.
    board.querySelectorAll(".board-card").forEach(function (card) {
      if (wanted.has(card.dataset.number) && String(wanted.get(card.dataset.number)) !== card.dataset.version) lost = true;
    });
    wanted.forEach(function (version, number) {
      if (!document.getElementById("c" + number)) lost = true;
    });
    if (lost) { since = null; return; }
    showTotals(data.totals);
  }
  window.setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
  window.plannerBoardPoll = poll;  // lets tests and impatient people refresh now
})();
