// The set-up flow page: keeps templates/integrations/_flow.html live from the websocket.
// State lives in one model (the snapshot's shape); every event updates the model, then `render`
// brings the server-rendered markup in line with it. No polling: only the websocket.
(function () {
  "use strict";

  var root = document.querySelector("[data-flow]");
  if (!root || !window.FlowClient || !window.GyanaVocabulary) return;

  // Labels come from the server's vocabulary (vocabulary.js, generated from Python).
  var STEP_STATES = window.GyanaVocabulary.stepStateLabels;
  var FLOW_STATES = window.GyanaVocabulary.integrationStateLabels;
  var ACTIONS = {
    connect_card: { label: "Connect your account", message: "Connect your account to continue." },
    select_tables: { label: "Choose tables", message: "Choose the tables to sync." },
    reconnect: { label: "Reconnect", message: "Fivetran lost access to the account: reconnect it." },
  };
  var CONNECTION = {
    connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", closed: "Not live",
  };
  var TABLES_SHOWN = 500;

  var model = JSON.parse(document.getElementById("flow-snapshot").textContent);
  var seq = Number(root.getAttribute("data-seq"));
  // Server clock minus browser clock, so elapsed times do not depend on the browser's clock.
  var clockOffsetMs = Date.parse(root.getAttribute("data-rendered-at")) - Date.now() || 0;
  var announcer = root.querySelector('[data-role="announce"]');
  var previous = describe(model);

  function stepNamed(name) {
    for (var i = 0; i < model.steps.length; i += 1) if (model.steps[i].name === name) return model.steps[i];
    return null;
  }

  // The step the engine is on: the first one that is neither done nor skipped (services._current_step).
  function currentStep() {
    for (var i = 0; i < model.steps.length; i += 1) {
      var state = model.steps[i].state;
      if (state !== "done" && state !== "skipped") return model.steps[i];
    }
    return null;
  }

  // -- events -> model ----------------------------------------------------------------------------

  var apply = {
    snapshot: function (frame) {
      model = frame.data;
      if (frame.data.reset) clearTables();
    },
    "step.started": function (frame) {
      var step = stepNamed(frame.data.step);
      step.state = "running";
      step.attempt = frame.data.attempt;
      step.started_at = frame.time;
      step.finished_at = null;
      step.progress = null;
      step.message = "";
      step.error = null;
      step.action = null;
      model.state = "running";
    },
    "step.progress": function (frame) {
      var step = stepNamed(frame.data.step);
      step.state = "running";
      step.action = null;
      step.started_at = step.started_at || frame.time;
      step.message = frame.data.message;
      step.progress = frame.data.done === null && frame.data.total === null
        ? null
        : { done: frame.data.done, total: frame.data.total, unit: frame.data.unit };
      model.state = "running";
    },
    "step.completed": function (frame) {
      var step = stepNamed(frame.data.step);
      step.state = "done";
      step.finished_at = frame.time;
      step.duration_ms = frame.data.duration_ms;
      step.action = null;
      step.error = null;
      step.message = frame.data.message || completedMessage(frame.data.detail || {});
      model.state = model.state === "ready" ? "ready" : "running";
    },
    "step.skipped": function (frame) {
      var step = stepNamed(frame.data.step);
      step.state = "skipped";
      step.finished_at = frame.time;
      step.message = frame.data.reason;
      step.action = null;
    },
    "step.failed": function (frame) {
      var step = stepNamed(frame.data.step);
      step.state = "failed";
      step.finished_at = frame.time;
      step.error = frame.data.error;
      step.action = null;
      model.state = "failed";
    },
    "action.required": function (frame) {
      // The event names no step: it is always about the step the engine is on.
      var step = currentStep();
      if (!step) return;
      step.state = "waiting_for_user";
      step.action = { kind: frame.data.kind, url: frame.data.url };
      step.started_at = step.started_at || frame.time;
      step.message = frame.data.message || (ACTIONS[frame.data.kind] || {}).message || "";
      model.state = "waiting_for_user";
    },
    "tables.registered": function (frame) {
      var known = {};
      model.tables.rows.forEach(function (row) { known[row.dataset + "." + row.name] = true; });
      frame.data.tables.forEach(function (row) {
        if (!known[row.dataset + "." + row.name]) model.tables.rows.push(row);
      });
      model.tables.count = Math.max(frame.data.count, model.tables.rows.length);
    },
    "setup.completed": function (frame) {
      model.state = "ready";
      model.tables.count = Math.max(frame.data.tables, model.tables.rows.length);
    },
    "setup.failed": function (frame) {
      var step = stepNamed(frame.data.step);
      if (step) {
        step.state = "failed";
        step.error = frame.data.error;
      }
      model.state = "failed";
    },
  };

  function completedMessage(detail) {
    if (typeof detail.tables === "number") return detail.tables + " table" + (detail.tables === 1 ? "" : "s");
    return "";
  }

  // -- model -> markup ------------------------------------------------------------------------------

  function part(element, role) {
    return element.querySelector('[data-role="' + role + '"]');
  }

  function show(element, visible) {
    element.hidden = !visible;
  }

  function renderStep(step, isCurrent) {
    var item = root.querySelector('[data-step="' + step.name + '"]');
    if (!item) return;
    item.className = "step step--" + step.state;
    item.setAttribute("data-state", step.state);
    if (isCurrent) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
    part(item, "state").textContent = STEP_STATES[step.state] || step.state;

    var elapsed = part(item, "elapsed");
    elapsed.setAttribute("data-started-at", step.started_at || "");
    elapsed.setAttribute("data-finished-at", step.finished_at || "");
    if (step.duration_ms !== undefined) elapsed.setAttribute("data-duration-ms", step.duration_ms);
    else elapsed.removeAttribute("data-duration-ms");
    renderElapsed(elapsed);

    var message = part(item, "message");
    message.textContent = step.message || "";
    show(message, Boolean(step.message) && step.state !== "failed");

    renderProgress(item, step);

    var error = part(item, "error");
    error.textContent = step.error ? step.error.message : "";
    show(error, step.state === "failed" && Boolean(step.error));

    renderActions(item, step);
  }

  function renderProgress(item, step) {
    var box = part(item, "progress");
    var progress = step.progress;
    var visible = Boolean(progress) && step.state !== "done" && step.state !== "skipped" &&
      (progress.done !== null || progress.total !== null);
    show(box, visible);
    if (!visible) return;
    var bar = box.querySelector("progress");
    var text = part(box, "progress-text");
    if (!text) {
      text = document.createElement("span");
      text.setAttribute("data-role", "progress-text");
      box.appendChild(text);
    }
    var unit = progress.unit ? " " + progress.unit : "";
    var done = progress.done || 0;
    if (progress.total !== null && progress.total !== undefined) {
      if (!bar) {
        bar = document.createElement("progress");
        box.insertBefore(bar, text);
      }
      bar.max = Math.max(progress.total, 1);
      bar.value = Math.min(done, bar.max);
      bar.setAttribute("aria-label", item.querySelector(".step__label").textContent + ": " + done + " of " + progress.total);
      text.textContent = done + " of " + progress.total + unit;
    } else {
      if (bar) bar.remove();
      text.textContent = done + unit + " so far";
    }
  }

  function renderActions(item, step) {
    var box = part(item, "actions");
    var link = part(box, "action");
    if (step.action && step.state === "waiting_for_user") {
      if (!link) {
        link = document.createElement("a");
        link.className = "button button--primary";
        link.setAttribute("data-role", "action");
        box.insertBefore(link, box.firstChild);
      }
      link.href = step.action.url;
      link.setAttribute("data-kind", step.action.kind);
      link.textContent = (ACTIONS[step.action.kind] || { label: "Continue" }).label;
    } else if (link) {
      link.remove();
    }
    var retry = part(box, "retry");
    if (step.state === "failed") {
      if (!retry) {
        retry = document.createElement("button");
        retry.type = "button";
        retry.className = "button";
        retry.setAttribute("data-role", "retry");
        retry.textContent = "Retry";
        box.appendChild(retry);
      }
      retry.disabled = false;
    } else if (retry) {
      retry.remove();
    }
    show(box, Boolean(part(box, "action") || part(box, "retry")));
  }

  function renderTables() {
    var section = part(root, "tables");
    var visible = model.state === "ready" || model.tables.count > 0;
    show(section, visible);
    if (!visible) return;
    var count = model.tables.count;
    part(section, "tables-count").textContent = count + " table" + (count === 1 ? "" : "s") + " registered.";
    var body = part(section, "tables-rows");
    var present = {};
    body.querySelectorAll("tr[data-table]").forEach(function (row) { present[row.getAttribute("data-table")] = true; });
    model.tables.rows.slice(0, TABLES_SHOWN).forEach(function (table) {
      var key = table.dataset + "." + table.name;
      if (present[key]) return;
      var row = document.createElement("tr");
      row.setAttribute("data-table", key);
      var name = document.createElement("th");
      name.scope = "row";
      name.textContent = table.name;
      var dataset = document.createElement("td");
      dataset.textContent = table.dataset;
      var rows = document.createElement("td");
      rows.className = "numeric";
      rows.textContent = table.num_rows === null || table.num_rows === undefined ? "—" : table.num_rows.toLocaleString("en-US");
      row.append(name, dataset, rows);
      body.appendChild(row);
    });
    show(part(section, "tables-link"), model.state === "ready");
  }

  function clearTables() {
    part(root, "tables-rows").textContent = "";
  }

  function render() {
    var current = model.state === "ready" ? null : currentStep();
    model.steps.forEach(function (step) { renderStep(step, current !== null && step.name === current.name); });
    var state = part(root, "flow-state");
    state.textContent = FLOW_STATES[model.state] || model.state;
    state.className = "flow-state flow-state--" + model.state;
    state.setAttribute("data-state", model.state);
    root.setAttribute("data-flow-state", model.state);
    renderTables();
    announceChanges();
  }

  // -- elapsed time -------------------------------------------------------------------------------

  function formatDuration(ms) {
    var seconds = Math.max(0, Math.floor(ms / 1000));
    if (seconds < 60) return seconds + " s";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min " + String(seconds % 60).padStart(2, "0") + " s";
    return Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0") + " min";
  }

  function renderElapsed(element) {
    var started = Date.parse(element.getAttribute("data-started-at") || "");
    var finished = Date.parse(element.getAttribute("data-finished-at") || "");
    var duration = element.getAttribute("data-duration-ms");
    if (isNaN(started) && duration === null) {
      element.hidden = true;
      return;
    }
    var ms = duration !== null && !isNaN(finished) ? Number(duration)
      : !isNaN(finished) ? finished - started
      : Date.now() + clockOffsetMs - started;
    element.hidden = false;
    element.setAttribute("datetime", "PT" + Math.max(0, Math.round(ms / 1000)) + "S");
    element.textContent = formatDuration(ms);
  }

  function tick() {
    root.querySelectorAll('.step--running [data-role="elapsed"], .step--waiting_for_user [data-role="elapsed"]')
      .forEach(renderElapsed);
  }

  // -- announcements ------------------------------------------------------------------------------

  function describe(state) {
    var byStep = {};
    state.steps.forEach(function (step) { byStep[step.name] = step.state; });
    return { flow: state.state, steps: byStep };
  }

  function announceChanges() {
    var now = describe(model);
    var lines = [];
    model.steps.forEach(function (step) {
      if (previous.steps[step.name] !== now.steps[step.name] && step.state !== "pending") {
        var label = root.querySelector('[data-step="' + step.name + '"] .step__label').textContent;
        lines.push(label + ": " + (STEP_STATES[step.state] || step.state).toLowerCase() + ".");
      }
    });
    if (previous.flow !== now.flow && (now.flow === "ready" || now.flow === "failed")) {
      lines.push(now.flow === "ready" ? "Set-up complete." : "Set-up failed.");
    }
    previous = now;
    if (lines.length) announcer.textContent = lines.join(" ");
  }

  // -- connection state and retry -------------------------------------------------------------------

  function renderConnection(state, info) {
    var box = part(root, "connection");
    var text = CONNECTION[state] || state;
    if (state === "closed" && info.reason === "not_logged_in") text = "Not live: log in again";
    if (state === "closed" && (info.reason === "not_found" || info.reason === "forbidden")) text = "Not live: no access";
    box.setAttribute("data-connection", state);
    part(box, "connection-text").textContent = text;
  }

  function csrfToken() {
    var input = root.querySelector('input[name="csrfmiddlewaretoken"]');
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  root.addEventListener("click", function (event) {
    var button = event.target.closest('[data-role="retry"]');
    if (!button) return;
    var item = button.closest("[data-step]");
    button.disabled = true;
    fetch(root.getAttribute("data-retry-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/json" },
      body: "{}",
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.ok) {
          // The engine announces the new attempt with step.started; until then show it queued.
          var step = stepNamed(item.getAttribute("data-step"));
          step.state = "pending";
          step.error = null;
          step.message = "Retrying…";
          model.state = "running";
          render();
          return;
        }
        var error = part(item, "error");
        error.textContent = body.error || "The retry was refused (" + response.status + ").";
        error.hidden = false;
        button.disabled = false;
      });
    }).catch(function () {
      var error = part(item, "error");
      error.textContent = "Could not reach the server; try again.";
      error.hidden = false;
      button.disabled = false;
    });
  });

  // -- wiring ---------------------------------------------------------------------------------------

  var onEvent = {
    heartbeat: function (frame) {
      clockOffsetMs = Date.parse(frame.time) - Date.now() || clockOffsetMs;
    },
    error: function (frame) {
      if (window.console) console.warn("flow socket error", frame.data);
    },
    "*": function (frame) {
      if (!apply[frame.type]) return;
      if (frame.type === "snapshot") clockOffsetMs = Date.parse(frame.time) - Date.now() || clockOffsetMs;
      apply[frame.type](frame);
      render();
    },
  };

  var client = new window.FlowClient({
    url: root.getAttribute("data-socket-url"),
    since: seq,
    onEvent: onEvent,
    onState: renderConnection,
  });
  // Exposed for debugging and for the browser tests (which drop the socket on purpose).
  window.flowPage = { client: client, model: function () { return model; } };
  render();
  setInterval(tick, 1000);
  client.start();
})();
