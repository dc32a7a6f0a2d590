// FlowClient: a small, reusable client for /ws/integrations/<id>/ (docs/frontend.md,
// docs/asyncapi.yaml). No build step: load it with a plain <script> and use window.FlowClient.
//
//   var client = new FlowClient({
//     url: "/ws/integrations/42/",          // a path (same origin) or a ws(s):// URL
//     since: 17,                            // optional: the seq the page was rendered at
//     onEvent: { "step.progress": function (frame) { ... }, "*": function (frame) { ... } },
//     onState: function (state, info) { ... }  // "connecting" | "live" | "reconnecting" | "closed"
//   });
//   client.start();
//
// It keeps the protocol's promises on the client side: frames with seq <= the last seen are
// ignored, a gap in seq or a dropped socket resumes with ?since=<last seen>, frames are
// de-duplicated by id, and heartbeats only count as a sign of life.
(function (global) {
  "use strict";

  // The close codes come from the server's vocabulary (vocabulary.js, generated from Python):
  // after a final one reconnecting cannot help; after a back-off one (the client flooded, or sent a
  // frame over the size limit) wait long; after any other (a drop, a server that lost its live feed)
  // resume with ?since= after the usual backoff.
  var VOCABULARY = global.GyanaVocabulary || { finalCloseCodes: [], backOffCloseCodes: [] };
  var FLOODED_BACKOFF_MS = 60000;
  var REMEMBERED_IDS = 1000;

  function absoluteSocketUrl(url) {
    if (/^wss?:\/\//.test(url)) return url;
    var scheme = global.location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + global.location.host + url;
  }

  function FlowClient(options) {
    if (!options || !options.url) throw new Error("FlowClient needs a url");
    this.url = absoluteSocketUrl(options.url);
    this.handlers = options.onEvent || {};
    this.onState = options.onState || function () {};
    this.lastSeq = typeof options.since === "number" && options.since >= 0 ? options.since : null;
    this.backoff = {
      baseMs: options.backoffBaseMs || 500,
      capMs: options.backoffCapMs || 15000,
    };
    // The server sends a heartbeat on a socket idle for 30 s; silence well beyond that means the
    // connection is dead even if the browser has not noticed yet.
    this.pingAfterMs = options.pingAfterMs || 35000;
    this.deadAfterMs = options.deadAfterMs || 75000;
    this.state = "idle";
    this.socket = null;
    this.everConnected = false;
    this.attempts = 0;
    this.seenIds = [];
    this.seenIdSet = new Set();
    this.stopped = true;
    this.retryTimer = null;
    this.livenessTimer = null;
    this.lastFrameAt = 0;
    this.pingSent = false;
    this._onOnline = this.reconnectNow.bind(this);
  }

  FlowClient.prototype.start = function () {
    if (!this.stopped) return this;
    this.stopped = false;
    global.addEventListener("online", this._onOnline);
    this._connect();
    return this;
  };

  FlowClient.prototype.stop = function () {
    this.stopped = true;
    global.removeEventListener("online", this._onOnline);
    clearTimeout(this.retryTimer);
    clearInterval(this.livenessTimer);
    if (this.socket) {
      var socket = this.socket;
      this.socket = null;
      socket.close(1000, "client stopped");
    }
    this._setState("closed", { reason: "stopped" });
  };

  // Drop the current socket and open a new one that resumes from the last seq seen.
  FlowClient.prototype.resume = function () {
    if (this.stopped) return;
    if (this.socket) {
      var socket = this.socket;
      this.socket = null;
      socket.close(1000, "resuming");
    }
    clearTimeout(this.retryTimer);
    this._connect();
  };

  // When the browser says the network is back, skip the rest of the backoff.
  FlowClient.prototype.reconnectNow = function () {
    if (this.stopped || this.socket) return;
    clearTimeout(this.retryTimer);
    this._connect();
  };

  FlowClient.prototype.socketUrl = function () {
    if (this.lastSeq === null) return this.url;
    return this.url + (this.url.indexOf("?") === -1 ? "?" : "&") + "since=" + this.lastSeq;
  };

  FlowClient.prototype._setState = function (state, info) {
    if (this.state === state && !info) return;
    this.state = state;
    this.onState(state, info || {});
  };

  FlowClient.prototype._connect = function () {
    var self = this;
    this._setState(this.everConnected ? "reconnecting" : "connecting");
    this.everConnected = true;
    var socket = new WebSocket(this.socketUrl());
    this.socket = socket;
    socket.onopen = function () {
      if (self.socket !== socket) return;
      self.lastFrameAt = Date.now();
      self._setState("live");
    };
    socket.onmessage = function (message) {
      if (self.socket !== socket) return;
      self._receive(message.data);
    };
    socket.onclose = function (event) {
      if (self.socket !== socket) return; // a socket we replaced on purpose
      self.socket = null;
      clearInterval(self.livenessTimer);
      if (self.stopped) return;
      if (VOCABULARY.finalCloseCodes.indexOf(event.code) !== -1) {
        self.stopped = true;
        self._setState("closed", { code: event.code, reason: event.reason || "closed by the server" });
        return;
      }
      var flooded = VOCABULARY.backOffCloseCodes.indexOf(event.code) !== -1;
      self._scheduleReconnect(flooded ? FLOODED_BACKOFF_MS : 0);
    };
    clearInterval(this.livenessTimer);
    this.livenessTimer = setInterval(function () { self._checkLiveness(socket); }, 5000);
  };

  FlowClient.prototype._scheduleReconnect = function (minimumMs) {
    var self = this;
    this._setState("reconnecting");
    // Exponential backoff with "equal jitter": half the delay is fixed, half random, so a server
    // restart does not bring every tab back in the same instant.
    var ceiling = Math.max(minimumMs || 0, Math.min(this.backoff.capMs, this.backoff.baseMs * Math.pow(2, this.attempts)));
    var delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempts += 1;
    this.retryTimer = setTimeout(function () { self._connect(); }, delay);
  };

  FlowClient.prototype._checkLiveness = function (socket) {
    if (this.socket !== socket || socket.readyState !== WebSocket.OPEN) return;
    var silent = Date.now() - this.lastFrameAt;
    if (silent > this.deadAfterMs) {
      this.socket = null;
      socket.close(4000, "no heartbeat");
      this._scheduleReconnect();
    } else if (silent > this.pingAfterMs && !this.pingSent) {
      this.pingSent = true;
      socket.send(JSON.stringify({ type: "ping" }));
    }
  };

  FlowClient.prototype._remember = function (id) {
    if (!id || this.seenIdSet.has(id)) return;
    this.seenIdSet.add(id);
    this.seenIds.push(id);
    if (this.seenIds.length > REMEMBERED_IDS) this.seenIdSet.delete(this.seenIds.shift());
  };

  FlowClient.prototype._receive = function (text) {
    var frame;
    try {
      frame = JSON.parse(text);
    } catch (error) {
      return;
    }
    this.lastFrameAt = Date.now();
    this.pingSent = false;
    // Only a frame proves the server is really serving us (it may accept and then close).
    this.attempts = 0;
    if (frame.type === "heartbeat") {
      this._dispatch(frame);
      return;
    }
    if (frame.type === "error") {
      this._dispatch(frame);
      return;
    }
    if (frame.id && this.seenIdSet.has(frame.id)) return;
    if (frame.type === "snapshot") {
      // A snapshot replaces everything the client knew, up to and including its seq.
      this._remember(frame.id);
      this.lastSeq = frame.seq;
      this._dispatch(frame);
      return;
    }
    if (typeof frame.seq !== "number") return;
    if (this.lastSeq !== null && frame.seq <= this.lastSeq) return;
    if (this.lastSeq !== null && frame.seq > this.lastSeq + 1) {
      // A frame went missing: ask the server to replay from the last one we have.
      this.resume();
      return;
    }
    // Remembered only once applied: a frame dropped for a gap must pass when it is replayed.
    if (frame.id) this._remember(frame.id);
    this.lastSeq = frame.seq;
    this._dispatch(frame);
  };

  FlowClient.prototype._dispatch = function (frame) {
    var handler = this.handlers[frame.type];
    if (handler) handler(frame);
    if (this.handlers["*"]) this.handlers["*"](frame);
  };

  global.FlowClient = FlowClient;
})(window);
