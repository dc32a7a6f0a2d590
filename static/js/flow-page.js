// The set-up flow page: keeps templates/integrations/_flow.html live from the websocket.
// State lives in one model (the snapshot's shape); every event updates the model, then `render`
// brings the server-rendered markup in line with it. No polling: only the websocket.
// People read three phases (vocabulary.phases); the eight protocol steps are each phase's details.
(function () {
  "use strict";

  var root = document.querySelector("[data-flow]");
  if (!root || !window.FlowClient || !window.GyanaVocabulary) return;

  // Words and phases come from the server's vocabulary (vocabulary.js, generated from Python).
  var VOCABULARY = window.GyanaVocabulary;
  var STEP_STATES = VOCABULARY.stepStateLabels;
  var FLOW_STATES = VOCABULARY.integrationStateLabels;
  var PHASE_STATES = VOCABULARY.phaseStateLabels;
  var PHASES = VOCABULARY.phases;
  var ACTION_LABELS = VOCABULARY.actionLabels;
  var ACTION_EXPLANATIONS = VOCABULARY.actionExplanations;
  var FINISHED = ["done", "skipped"];
  var CONNECTION = {
    connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", closed: "Not live",
  };
  var TABLES_SHOWN = 500;

  var model = JSON.parse(document.getElementById("flow-snapshot").textContent);
  var seq = Number(root.getAttribute("data-seq"));
  // Server clock minus browser clock, so elapsed times do not depend on the browser's clock.
  var clockOffsetMs = Date.parse(root.getAttribute("data-rendered-at")) - Date.now() || 0;
  var announcer = root.querySelector('[data-role="announce"]');
  var checking = root.querySelector('[data-role="checking"]');
  var previous = describe(model);

  function stepNamed(name) {
    for (var i = 0; i < model.steps.length; i += 1) if (model.steps[i].name === name) return model.steps[i];
    return null;
  }

  function finished(step) {
    return FINISHED.indexOf(step.state) !== -1;
  }

  // The step the engine is on: the first one that is neither done nor skipped (services._current_step).
  function currentStep() {
    for (var i = 0; i < model.steps.length; i += 1) if (!finished(model.steps[i])) return model.steps[i];
    return null;
  }

  // -- events -> model ----------------------------------------------------------------------------

  // A step that starts again forgets what its last run said: no stale message, error or action.
  function restart(step, time) {
    step.state = "running";
    step.started_at = time;
    step.finished_at = null;
    step.progress = null;
    step.message = "";
    step.error = null;
    step.action = null;
  }

  var apply = {
    snapshot: function (frame) {
      model = frame.data;
      if (frame.data.reset) clearTables();
    },
    "step.started": function (frame) {
      var step = stepNamed(frame.data.step);
      restart(step, frame.time);
      step.attempt = frame.data.attempt;
      model.state = "running";
    },
    "step.progress": function (frame) {
      var step = stepNamed(frame.data.step);
      step.state = "running";
      step.action = null;
      step.error = null;
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
      // Older events name no step: then it is about the step the engine is on.
      var step = (frame.data.step && stepNamed(frame.data.step)) || currentStep();
      if (!step) return;
      step.state = "waiting_for_user";
      step.action = { kind: frame.data.kind, url: frame.data.url };
      step.started_at = step.started_at || frame.time;
      step.error = null;
      // Fivetran's (or the step's) own words; the page adds its explanation beside them.
      step.message = frame.data.message || "";
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

  // Once any of these arrives, Fivetran has answered the check that followed the Connect Card.
  var ANSWERS = ["step.completed", "step.skipped", "step.failed", "action.required", "setup.failed", "setup.completed"];

  function completedMessage(detail) {
    if (typeof detail.tables === "number") return detail.tables + " table" + (detail.tables === 1 ? "" : "s");
    return "";
  }

  // -- phases (the same derivation as integrations/templatetags/vocabulary.py) ---------------------

  function phaseState(steps) {
    var states = steps.map(function (step) { return step.state; });
    if (states.indexOf("failed") !== -1) return "failed";
    if (states.indexOf("waiting_for_user") !== -1) return "waiting_for_user";
    if (steps.every(finished)) return "done";
    if (states.indexOf("running") !== -1 || steps.some(finished)) return "running";
    return "pending";
  }

  function phaseView(phase) {
    var steps = phase.steps.map(stepNamed).filter(Boolean);
    var state = phaseState(steps);
    var current = null;
    for (var i = 0; i < steps.length; i += 1) if (!finished(steps[i])) { current = steps[i]; break; }
    var news = "";
    if (!current || current.state === "pending") {
      for (var j = steps.length - 1; j >= 0; j -= 1) {
        if (finished(steps[j]) && steps[j].message) { news = steps[j].message; break; }
      }
    } else if (current.state !== "failed") {
      news = current.message || "";
    }
    return { phase: phase, state: state, current: current, news: state === "pending" ? "" : news };
  }

  // -- model -> markup ------------------------------------------------------------------------------

  function part(element, role) {
    return element.querySelector('[data-role="' + role + '"]');
  }

  function show(element, visible) {
    element.hidden = !visible;
  }

  function renderPhase(view, isCurrent) {
    var item = root.querySelector('[data-phase="' + view.phase.name + '"]');
    if (!item) return;
    var step = view.current;
    item.className = "phase phase--" + view.state;
    item.setAttribute("data-state", view.state);
    if (isCurrent) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
    part(item, "phase-state").textContent = PHASE_STATES[view.state] || view.state;
    show(part(item, "phase-description"), view.state === "pending");

    var news = part(item, "phase-news");
    news.textContent = view.news;
    show(news, Boolean(view.news) && view.state !== "waiting_for_user");

    renderProgress(item, view);
    renderAction(item, step);
    renderProblem(item, step);
    view.phase.steps.forEach(function (name) { renderStep(stepNamed(name)); });
  }

  function renderAction(item, step) {
    var box = part(item, "phase-action");
    var waiting = Boolean(step && step.action && step.state === "waiting_for_user");
    show(box, waiting);
    if (!waiting) return;
    var kind = step.action.kind;
    // For a reconnect the message is Fivetran's own word on what went wrong: shown as such,
    // beside the page's explanation. Otherwise the step's message, when it has one, says it best.
    var fivetranWords = kind === "reconnect" && Boolean(step.message);
    part(box, "action-explanation").textContent =
      kind === "reconnect" || !step.message ? (ACTION_EXPLANATIONS[kind] || "") : step.message;
    part(box, "action-message-text").textContent = fivetranWords ? step.message : "";
    show(part(box, "action-message"), fivetranWords);
    var link = part(box, "action");
    link.href = step.action.url;
    link.setAttribute("data-kind", kind);
    link.textContent = ACTION_LABELS[kind] || "Continue";
  }

  function renderProblem(item, step) {
    var box = part(item, "phase-problem");
    var failed = Boolean(step && step.state === "failed");
    show(box, failed);
    if (!failed) return;
    part(box, "problem-step").textContent = step.label;
    var message = step.error ? step.error.message : "";
    part(box, "problem-message-text").textContent = message;
    show(part(box, "problem-message"), Boolean(message));
    show(part(box, "problem-hint"), step.name === "historical_sync");
    var retry = part(box, "retry");
    retry.setAttribute("data-retry-step", step.name);
    if (!retry.hasAttribute("data-busy")) retry.disabled = false;
  }

  function renderProgress(item, view) {
    var box = part(item, "phase-progress");
    var step = view.current;
    var progress = step && step.state !== "failed" ? step.progress : null;
    var visible = Boolean(progress) && (progress.done !== null || progress.total !== null);
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
      bar.setAttribute("aria-label", view.phase.label + ": " + done + " of " + progress.total);
      text.textContent = done + " of " + progress.total + unit;
    } else {
      if (bar) bar.remove();
      text.textContent = done + unit + " so far";
    }
  }

  function renderStep(step) {
    var item = root.querySelector('[data-step="' + step.name + '"]');
    if (!item) return;
    item.className = "step step--" + step.state;
    item.setAttribute("data-state", step.state);
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

    var error = part(item, "error");
    error.textContent = step.error ? step.error.message : "";
    show(error, step.state === "failed" && Boolean(step.error));
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
      var rows = document.createElement("td");
      rows.className = "numeric";
      rows.textContent = table.num_rows === null || table.num_rows === undefined ? "—" : table.num_rows.toLocaleString("en-US");
      row.append(name, rows);
      body.appendChild(row);
    });
    show(part(section, "tables-link"), model.state === "ready");
  }

  function clearTables() {
    part(root, "tables-rows").textContent = "";
  }

  function render() {
    var views = PHASES.map(phaseView);
    var currentPhase = null;
    if (model.state !== "ready") {
      for (var i = 0; i < views.length; i += 1) if (views[i].state !== "done") { currentPhase = views[i]; break; }
    }
    views.forEach(function (view) { renderPhase(view, view === currentPhase); });
    var state = part(root, "flow-state");
    state.textContent = FLOW_STATES[model.state] || model.state;
    state.className = "flow-state flow-state--" + model.state;
    state.setAttribute("data-state", model.state);
    root.setAttribute("data-flow-state", model.state);
    renderTables();
    announceChanges(views);
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
    var finishedAt = Date.parse(element.getAttribute("data-finished-at") || "");
    var duration = element.getAttribute("data-duration-ms");
    if (isNaN(started) && duration === null) {
      element.hidden = true;
      return;
    }
    var ms = duration !== null && !isNaN(finishedAt) ? Number(duration)
      : !isNaN(finishedAt) ? finishedAt - started
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
    var byPhase = {};
    PHASES.forEach(function (phase) {
      byPhase[phase.name] = phaseState(phase.steps.map(function (name) {
        for (var i = 0; i < state.steps.length; i += 1) if (state.steps[i].name === name) return state.steps[i];
        return { state: "pending" };
      }));
    });
    return { flow: state.state, phases: byPhase };
  }

  function announceChanges() {
    var now = describe(model);
    var lines = [];
    PHASES.forEach(function (phase) {
      var state = now.phases[phase.name];
      if (previous.phases[phase.name] !== state && state !== "pending") {
        lines.push(phase.label + ": " + (PHASE_STATES[state] || state).toLowerCase() + ".");
      }
    });
    if (previous.flow !== now.flow && (now.flow === "ready" || now.flow === "failed")) {
      lines.push(now.flow === "ready" ? "Set-up complete." : "Set-up stopped.");
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
    var box = button.closest('[data-role="phase-problem"]');
    var problem = part(box, "retry-error");
    var name = button.getAttribute("data-retry-step");
    button.disabled = true;
    button.setAttribute("data-busy", "");
    problem.hidden = true;
    function refused(text) {
      problem.textContent = text;
      problem.hidden = false;
      button.disabled = false;
      button.removeAttribute("data-busy");
    }
    fetch(root.getAttribute("data-retry-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/json" },
      body: "{}",
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        button.removeAttribute("data-busy");
        if (!response.ok) {
          refused(body.error || "The retry was refused (" + response.status + ").");
          return;
        }
        // The engine announces the new attempt with step.started; until then show it restarting,
        // without the failed attempt's words.
        var step = stepNamed(name);
        if (step && step.state === "failed") {
          restart(step, new Date(Date.now() + clockOffsetMs).toISOString());
          step.message = "Retrying…";
          model.state = "running";
          render();
        }
      });
    }).catch(function () {
      refused("Could not reach the server; try again.");
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
      if (checking && ANSWERS.indexOf(frame.type) !== -1) checking.hidden = true;
      render();
    },
  };

  // Fivetran answers a check within seconds. A return from a cancelled Connect Card may bring no
  // news at all (the same card is offered again), so after a while say what is known instead.
  var CHECK_ANSWER_MS = 12000;
  if (checking && !checking.hidden) {
    setTimeout(function () {
      if (checking.hidden) return;
      part(checking, "checking-spinner").hidden = true;
      part(checking, "checking-text").hidden = true;
      part(checking, "checking-late").hidden = false;
    }, CHECK_ANSWER_MS);
  }

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
