// Provider setup: a credential whose model sync is owed (just saved, or "Sync now") is watched
// until the sync is done, and its card shows the progress and the result without a reload.
// Hooks: section[data-syncing][data-sync-url] polls that URL (JSON from credential_status_view);
// [data-field="state"|"last-sync"|"models"] and [role=status] inside it are updated.
(function () {
  "use strict";

  var EVERY_MS = 1000;
  var GIVE_UP_MS = 90000; // a worker that never picks the job up: say so, stop asking

  var PHASES = {
    queued: "Sync queued: waiting for a worker…",
    running: "Syncing models…",
    disabled: "This key is disabled: no sync runs."
  };

  function text(node, value) {
    if (node) {
      node.textContent = value;
    }
  }

  function badge(status) {
    var span = document.createElement("span");
    span.className = "badge state-" + status.state;
    span.textContent = status.state_label;
    return span;
  }

  function showState(card, status) {
    var cell = card.querySelector('[data-field="state"]');
    if (!cell) {
      return;
    }
    cell.textContent = "";
    cell.appendChild(badge(status));
    if (status.state_message) {
      var note = document.createElement("span");
      note.className = "muted";
      note.textContent = " " + status.state_message;
      cell.appendChild(note);
    }
  }

  function showLastSync(card, status) {
    var cell = card.querySelector('[data-field="last-sync"]');
    if (!cell) {
      return;
    }
    cell.textContent = "";
    if (status.last_sync_at) {
      var time = document.createElement("time");
      time.setAttribute("datetime", status.last_sync_at);
      time.textContent = "just now";
      cell.appendChild(time);
    } else {
      var never = document.createElement("span");
      never.className = "muted";
      never.textContent = "never";
      cell.appendChild(never);
    }
    if (status.last_sync_error) {
      var error = document.createElement("span");
      error.className = "error";
      error.textContent = " " + status.last_sync_error;
      cell.appendChild(error);
    }
  }

  function outcome(status) {
    var result = status.result || {};
    if (result.error) {
      return "Sync failed: " + result.error;
    }
    if (result.needs_review) {
      return "Sync held for review: it would remove most of this key's models.";
    }
    var parts = [status.models + " free model" + (status.models === 1 ? "" : "s")];
    if (result.added || result.removed || result.changed) {
      parts.push("(" + (result.added || 0) + " added, " + (result.removed || 0) + " removed, " +
        (result.changed || 0) + " changed)");
    }
    return "Sync done: " + parts.join(" ") + ".";
  }

  function show(card, status) {
    var line = card.querySelector("[role=status]");
    showState(card, status);
    text(card.querySelector('[data-field="models"]'), String(status.models));
    if (status.phase === "done") {
      showLastSync(card, status);
      text(line, outcome(status));
      line.className = "sync-status " + (status.result && status.result.error ? "error" : "ok-text");
      card.removeAttribute("data-syncing");
      card.setAttribute("data-sync-done", "");
      return true;
    }
    text(line, PHASES[status.phase] || PHASES.running);
    return status.phase === "disabled";
  }

  function watch(card) {
    var url = card.getAttribute("data-sync-url");
    var started = Date.now();
    function ask() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (status) {
          if (!show(card, status)) {
            later();
          }
        })
        .catch(later);
    }
    function later() {
      if (Date.now() - started > GIVE_UP_MS) {
        text(card.querySelector("[role=status]"),
          "The sync has not run yet (is a worker running?). Reload the page later to see it.");
        return;
      }
      window.setTimeout(ask, EVERY_MS);
    }
    ask();
  }

  document.querySelectorAll("section[data-syncing][data-sync-url]").forEach(watch);
})();
