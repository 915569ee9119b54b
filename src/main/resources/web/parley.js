/**
 * parley.js: browser client for the Parley realtime rooms server (wire protocol v1).
 *
 * A dependency-free ES module. No build step: `import { ParleyClient } from '/parley.js'`.
 *
 * ```js
 * const client = new ParleyClient('ws://localhost:8080/ws', () => fetchToken());
 * client.on('new_message', (msg) => console.log(`${msg.sender.name}: ${msg.payload.content}`));
 * client.connect();
 * await client.joinRoom('general');          // resolves with the `room_info` frame
 * await client.sendMessage('general', 'Hi'); // resolves with the `ack` frame {message_id, seq}
 * ```
 *
 * Porting code written against the old Go-hub example client (`WebSocketClient`):
 * the class is also exported under that name, with the same constructor and methods.
 * That example read `JSON.parse(msg.payload).content`; payloads are objects now, so write
 * `msg.payload.content`. The old line still works: unless `legacyPayloadString: false`,
 * every object payload gets a hidden (non-enumerable) `toString()` that returns its JSON,
 * so `JSON.parse(msg.payload)` returns a copy of it. A payload the server sends as a JSON
 * string is parsed into an object before handlers see it.
 *
 * How the client behaves:
 * - Reconnects by itself after any close that `disconnect()` did not cause: exponential
 *   backoff with full jitter, `random(0, min(backoffCap, backoffBase * 2^attempt))`. The
 *   attempt count goes back to 0 once a connection has stayed open `stableAfter` ms.
 *   Closes 1003/1008/1009 (binary frame, abuse, frame too big: the page misbehaved)
 *   also reconnect, but the backoff starts at attempt 4 (up to 8 s) so a faulty page
 *   cannot loop fast. Close 4001 (token expired) reconnects with a fresh token from the
 *   supplier; with a fixed token string it stops instead, as a new attempt cannot succeed.
 *   A refused upgrade (401/403/503) shows as close 1006 before open: a normal failed attempt.
 * - The token (or `getToken()` supplier, sync or async) is asked again before every attempt.
 * - Rooms joined with `joinRoom()` are remembered and joined again after each reconnect,
 *   before queued requests are sent. `leaveRoom()` forgets the room.
 * - Requests made while not open wait in a bounded queue (`maxQueue`) and go out, in order,
 *   on open; a full queue rejects with `QUEUE_FULL`, never drops silently. After a reconnect
 *   the rejoins and the queue are sent at `flushBurst` then `flushRate`/s, under the server's
 *   rate limit. `typing`/`stop_typing` are not queued: they are stale by the time we reconnect.
 * - A request that was sent but had no reply when the connection was lost is rejected with
 *   `CONNECTION_LOST` (`retriable: true`) and not sent again: the server may have handled it,
 *   and resending a `send_message` could post it twice. The caller decides.
 * - `disconnect()` rejects everything pending or queued with `DISCONNECTED`.
 * - Sequence tracking: each `new_message` whose `seq` skips ahead of the last one seen in
 *   its room emits `gap` {room, expected, got} (before the message itself). `room_info`
 *   resets tracking (rejoin), as does a `seq` of 1 (a room that emptied restarts). The
 *   `ack` of our own `send_message` advances the count without ever reporting a gap.
 *
 * @module parley
 */

/**
 * A frame from the server (see PROTOCOL.md). `payload` is always an object when the server
 * sent an object or a JSON string of one.
 * @typedef {{type: string, room?: string, payload?: any, id?: string,
 *   sender?: {id: string, name: string}, timestamp?: string, seq?: number}} Frame
 */

/**
 * Options; all optional.
 * @typedef {object} ParleyOptions
 * @property {boolean} [reconnect=true] reconnect after closes not caused by `disconnect()`
 * @property {number} [maxRetries=Infinity] consecutive failed attempts before giving up (state `closed`)
 * @property {number} [backoffBase=500] ms, first backoff window
 * @property {number} [backoffCap=30000] ms, largest backoff window
 * @property {number} [stableAfter=5000] ms open after which the attempt count resets
 * @property {number} [connectTimeout=15000] ms for a socket to open before the attempt counts as failed
 * @property {number} [requestTimeout=10000] ms from sending a request to its reply (`TIMEOUT`)
 * @property {number} [maxQueue=100] requests kept while not open (`QUEUE_FULL` past it)
 * @property {number} [maxFrameBytes=4096] frames larger than this are refused locally
 *   (`FRAME_TOO_LARGE`) instead of getting the connection closed with 1009
 * @property {number} [flushBurst=30] frames sent at once when flushing after (re)connect
 * @property {number} [flushRate=15] frames per second after that burst
 * @property {number} [pingInterval=25000] ms between heartbeat `ping`s; no `pong` within
 *   `requestTimeout` drops the connection and reconnects. 0 disables
 * @property {number} [typingIdle=3000] ms without `typing()` before `stop_typing` is sent;
 *   `typing` is re-sent at most this often while the user keeps typing
 * @property {'query'|'protocol'} [tokenTransport='query'] `?token=` or Sec-WebSocket-Protocol `bearer, JWT`
 * @property {boolean} [legacyPayloadString=true] give payloads a hidden JSON `toString()` (see above)
 * @property {typeof WebSocket} [WebSocket] WebSocket class (defaults to the global one)
 * @property {Console|null} [logger=console] where warnings go; null for silence
 */

const DEFAULTS = {
  reconnect: true, maxRetries: Infinity, backoffBase: 500, backoffCap: 30000, stableAfter: 5000,
  connectTimeout: 15000, requestTimeout: 10000, maxQueue: 100, maxFrameBytes: 4096,
  flushBurst: 30, flushRate: 15, pingInterval: 25000, typingIdle: 3000,
  tokenTransport: 'query', legacyPayloadString: true, WebSocket: undefined, logger: console,
};

/** Request types the server answers (the reply carries our `id`). */
const REPLY_TYPES = new Set(['join_room', 'leave_room', 'send_message', 'online_users', 'ping']);
/** Fire-and-forget signals that make no sense later: never queued while offline. */
const EPHEMERAL_TYPES = new Set(['typing', 'stop_typing']);
/** Closes that the page caused: reconnect, but slowly. */
const PENALTY_CLOSES = new Set([1003, 1008, 1009]);
const RETRIABLE = new Set(['TIMEOUT', 'CONNECTION_LOST', 'RATE_LIMITED', 'INTERNAL']);
const OPEN = 1; // WebSocket.OPEN
const encoder = new TextEncoder();

/**
 * The rejection reason of every request promise.
 * `code` is the server's error code (`RATE_LIMITED`, `NOT_IN_ROOM`, ...) with `frame` the
 * `error` frame, or a local one: `TIMEOUT`, `CONNECTION_LOST`, `DISCONNECTED`,
 * `QUEUE_FULL`, `FRAME_TOO_LARGE` (then `frame` is null).
 */
export class ParleyError extends Error {
  /**
   * @param {string} code
   * @param {string} [message]
   * @param {Frame|null} [frame]
   */
  constructor(code, message, frame = null) {
    super(message || code);
    this.name = 'ParleyError';
    /** @type {string} */ this.code = code;
    /** @type {Frame|null} */ this.frame = frame;
    /** @type {boolean} worth trying again later */ this.retriable = RETRIABLE.has(code);
  }
}

/**
 * Parley client. Events (subscribe with `on`):
 * - every server frame type: `connected`, `new_message`, `user_joined`, `user_left`,
 *   `user_typing`, `room_info`, `online_users`, `ack`, `error`, `pong`; `*` gets all of them;
 * - `state` {state, attempt?, delay?, code?, reason?, error?}: `connecting`, `open`,
 *   `reconnecting` (once per scheduled attempt), `closed`;
 * - `close` {code, reason, wasClean, willReconnect, deliberate?}: each lost connection;
 * - `gap` {room, expected, got}: a room's `seq` skipped;
 * - `rejoin_failed` {room, error}: a remembered room could not be joined again (now forgotten).
 */
export class ParleyClient {
  /**
   * @param {string} [url] e.g. `ws://host:8080/ws`; `http(s)://` and paths are accepted
   *   (default: `/ws` on the page's own host)
   * @param {string|((info: {expired: boolean, attempt: number}) => string|Promise<string>)} [tokenOrSupplier]
   *   a JWT, or a function returning one, called before every connection attempt;
   *   `expired` is true after close 4001
   * @param {ParleyOptions} [options]
   */
  constructor(url, tokenOrSupplier, options = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.url = url;
    this._token = tokenOrSupplier;
    this._handlers = new Map();
    this._state = 'closed';
    this._wanted = false;   // between connect() and disconnect() / giving up
    this._started = false;  // connect() was called at least once
    this._ws = null;
    this._gen = 0;          // bumped per attempt; late callbacks of older attempts are ignored
    this._attempt = 0;
    this._timers = {};      // retry, connect, stable, ping, pump
    this._rooms = new Set();
    this._seq = new Map();  // room -> last seq seen
    this._outbox = [];      // items waiting to be sent, in order
    this._pending = new Map(); // id -> sent item awaiting its reply
    this._nextId = 0;
    this._typing = new Map(); // room -> {sentAt, timer}
    this._session = null;
    this._lastClose = null;
    this._bucket = 0;
    this._bucketAt = 0;
    this._onOnline = () => { if (this._timers.retry) this._attemptNow(); };
  }

  // ---- public API ------------------------------------------------------------------

  /** Current state: `connecting`, `open`, `reconnecting` or `closed`. @type {string} */
  get state() { return this._state; }
  /** Payload of the last `connected` frame: {connection_id, user: {id, name}, node}, or null. */
  get session() { return this._session; }
  /** Name of the server node of the current connection (from `connected`), or null. */
  get node() { return this._session ? this._session.node : null; }
  /** The signed-in user {id, name} (from `connected`), or null. */
  get user() { return this._session ? this._session.user : null; }
  /** Rooms that will be joined again after a reconnect. @type {string[]} */
  get rooms() { return [...this._rooms]; }
  /** Number of frames waiting to be sent. */
  get queued() { return this._outbox.length; }

  /**
   * Opens the connection (and keeps it open until `disconnect()`). Calling it again while
   * connected does nothing. Requests made before it are queued and sent once open.
   * @returns {this}
   */
  connect() {
    if (this._wanted) return this;
    this._buildUrl('probe'); // throws now on a malformed url rather than later in the background
    this._wanted = true;
    this._started = true;
    this._attempt = 0;
    if (typeof globalThis.addEventListener === 'function') globalThis.addEventListener('online', this._onOnline);
    this._setState('connecting');
    this._open(false);
    return this;
  }

  /**
   * Closes the connection for good: no reconnect; pending and queued requests are rejected
   * with `DISCONNECTED`. Joined rooms are remembered, so a later `connect()` rejoins them.
   * @param {number} [code=1000]
   * @param {string} [reason='Client disconnecting']
   */
  disconnect(code = 1000, reason = 'Client disconnecting') {
    const wasActive = this._wanted;
    const ws = this._ws;
    this._wanted = false;
    this._gen++;
    this._ws = null;
    this._clearTimers(true);
    if (ws) { detach(ws); try { ws.close(code, reason); } catch { /* already closing */ } }
    this._failAll('DISCONNECTED', 'disconnect() was called');
    if (typeof globalThis.removeEventListener === 'function') globalThis.removeEventListener('online', this._onOnline);
    if (wasActive) {
      this._emit('close', { code, reason, wasClean: true, willReconnect: false, deliberate: true });
      this._setState('closed', { code, reason });
    }
  }

  /** Drops the current connection (if any) and reconnects right away, with a fresh token. */
  reconnect() {
    if (!this._wanted) { this.connect(); return; }
    this._attempt = 0;
    if (this._ws) this._drop(this._ws, 'reconnect() called');
    else if (this._timers.retry) this._attemptNow();
  }

  /**
   * Subscribes to an event (see the class doc); several handlers per type are allowed.
   * @param {string} type
   * @param {(event: any) => void} handler
   * @returns {() => void} a function that unsubscribes
   */
  on(type, handler) {
    if (!this._handlers.has(type)) this._handlers.set(type, []);
    this._handlers.get(type).push(handler);
    return () => this.off(type, handler);
  }

  /**
   * Unsubscribes `handler`, or every handler of `type` when `handler` is omitted.
   * @param {string} type
   * @param {(event: any) => void} [handler]
   */
  off(type, handler) {
    const list = this._handlers.get(type);
    if (!list) return;
    if (!handler) { this._handlers.delete(type); return; }
    const i = list.indexOf(handler);
    if (i >= 0) list.splice(i, 1);
  }

  /**
   * Like `on`, for the next event of `type` only.
   * @param {string} type
   * @param {(event: any) => void} handler
   * @returns {() => void} a function that unsubscribes
   */
  once(type, handler) {
    const off = this.on(type, (event) => { off(); handler(event); });
    return off;
  }

  /**
   * Sends a frame `{type, room, payload}` (the old example client's signature). Types the
   * server answers (`join_room`, `leave_room`, `send_message`, `online_users`, `ping`) get
   * an `id` and resolve with the reply frame; other types resolve `true` once written
   * (`typing`/`stop_typing` resolve `false` when not open, as they are not queued).
   * Rejects with a {@link ParleyError}. Ignoring the promise is safe (no unhandled-rejection noise).
   * @param {string} type
   * @param {object} [payload]
   * @param {string} [room=''] empty for none
   * @returns {Promise<Frame|boolean>}
   */
  send(type, payload, room = '') {
    return this._request(type, payload, room, false);
  }

  /**
   * Joins a room and remembers it for reconnects. Resolves with the `room_info` frame
   * (`payload.users`, `payload.count`).
   * @param {string} roomId
   * @returns {Promise<Frame>}
   */
  joinRoom(roomId) { return this.send('join_room', { room_id: roomId }); }

  /**
   * Leaves a room and forgets it. Resolves with the `ack` frame.
   * @param {string} roomId
   * @returns {Promise<Frame>}
   */
  leaveRoom(roomId) { return this.send('leave_room', { room_id: roomId }); }

  /**
   * Posts a message (and ends our typing signal in that room). Resolves with the `ack`
   * frame, `payload` {message_id, seq}.
   * @param {string} roomId
   * @param {string} content
   * @param {{replyTo?: string}} [opts] `replyTo`: id of the message answered
   * @returns {Promise<Frame>}
   */
  sendMessage(roomId, content, opts = {}) {
    if (this._typing.has(roomId)) this.stopTyping(roomId);
    const payload = { content };
    if (opts.replyTo) payload.reply_to = opts.replyTo;
    return this.send('send_message', payload, roomId);
  }

  /**
   * Asks who is in a room. Resolves with the `online_users` frame.
   * @param {string} roomId
   * @returns {Promise<Frame>}
   */
  onlineUsers(roomId) { return this.send('online_users', { room_id: roomId }, roomId); }

  /** Round trip to the server. Resolves with the `pong` frame. @returns {Promise<Frame>} */
  ping() { return this.send('ping'); }

  /**
   * Call on every keystroke: sends `typing` (at most once per `typingIdle` ms) and, after
   * `typingIdle` ms without a call, `stop_typing`. Does nothing while not open.
   * Receivers should expire an indicator that was not refreshed for about 2 × typingIdle.
   * @param {string} roomId
   * @returns {Promise<boolean>} whether a `typing` frame was sent
   */
  typing(roomId) {
    if (!this._isOpen()) return Promise.resolve(false);
    const t = this._typing.get(roomId) || { sentAt: 0, timer: null };
    const now = Date.now();
    let sent = Promise.resolve(false);
    if (now - t.sentAt >= this.options.typingIdle) {
      t.sentAt = now;
      sent = this.send('typing', { room_id: roomId }, roomId);
    }
    clearTimeout(t.timer);
    t.timer = setTimeout(() => this.stopTyping(roomId), this.options.typingIdle);
    this._typing.set(roomId, t);
    return sent;
  }

  /**
   * Sends `stop_typing` now if `typing()` was signalled in this room.
   * @param {string} roomId
   * @returns {Promise<boolean>} whether a frame was sent
   */
  stopTyping(roomId) {
    const t = this._typing.get(roomId);
    if (!t) return Promise.resolve(false);
    clearTimeout(t.timer);
    this._typing.delete(roomId);
    return this.send('stop_typing', { room_id: roomId }, roomId);
  }

  // ---- connection lifecycle ----------------------------------------------------------

  async _open(expired) {
    const gen = ++this._gen;
    let token;
    try {
      token = typeof this._token === 'function'
        ? await this._token({ expired, attempt: this._attempt })
        : this._token;
    } catch (error) {
      if (gen === this._gen && this._wanted) this._afterFailure(0, 'token supplier failed', error);
      return;
    }
    if (gen !== this._gen || !this._wanted) return;
    const WS = this.options.WebSocket || globalThis.WebSocket;
    let ws;
    try {
      const protocols = token && this.options.tokenTransport === 'protocol' ? ['bearer', token] : undefined;
      ws = new WS(this._buildUrl(token), protocols);
    } catch (error) {
      this._afterFailure(0, 'cannot open socket', error);
      return;
    }
    this._ws = ws;
    this._timers.connect = setTimeout(() => this._drop(ws, 'connect timeout'), this.options.connectTimeout);
    ws.onopen = () => this._onOpen(ws);
    ws.onmessage = (ev) => { if (ws === this._ws) this._onFrame(ev.data); };
    ws.onclose = (ev) => this._onClose(ws, ev.code, ev.reason, ev.wasClean);
    ws.onerror = () => {}; // a close event always follows
  }

  _onOpen(ws) {
    if (ws !== this._ws) return;
    clearTimeout(this._timers.connect);
    this._timers.stable = setTimeout(() => { this._attempt = 0; }, this.options.stableAfter);
    // Rejoin remembered rooms first, except those the queue is about to join anyway. This
    // is queued before the `open` event, so requests made by its handlers go after it.
    const queuedJoins = new Set(this._outbox.filter((i) => i.frame.type === 'join_room').map((i) => i.room));
    const rejoins = [...this._rooms].filter((r) => !queuedJoins.has(r)).map((r) => this._makeItem('join_room', { room_id: r }, '', true));
    this._outbox.unshift(...rejoins);
    this._bucket = this.options.flushBurst;
    this._bucketAt = Date.now();
    this._setState('open', { attempt: this._attempt });
    if (ws !== this._ws) return; // a state handler disconnected or reconnected
    this._pump();
    if (this.options.pingInterval > 0) {
      this._timers.ping = setInterval(() => {
        this.ping().catch((err) => { if (err.code === 'TIMEOUT') this._drop(ws, 'heartbeat timeout'); });
      }, this.options.pingInterval);
    }
  }

  /** Gives up on a socket that is stuck (no open, no pong): treated as close 1006. */
  _drop(ws, reason) {
    if (ws !== this._ws) return;
    try { ws.close(4000, reason); } catch { /* ignore */ }
    this._onClose(ws, 1006, reason, false);
  }

  _onClose(ws, code, reason, wasClean) {
    if (ws !== this._ws) return;
    detach(ws);
    this._ws = null;
    this._clearTimers(false);
    this._lastClose = { code, reason };
    // Internal rejoins and typing signals are rebuilt or stale: drop them. User requests stay.
    const keep = [];
    for (const item of this._outbox) {
      if (item.internal) continue;
      if (EPHEMERAL_TYPES.has(item.frame.type)) item.resolve(false); else keep.push(item);
    }
    this._outbox = keep;
    for (const item of this._pending.values()) {
      if (!item.internal) this._fail(item, new ParleyError('CONNECTION_LOST', `connection closed (${code}) before the reply`));
      clearTimeout(item.timer);
    }
    this._pending.clear();
    if (!this._wanted) return;
    this._afterFailure(code, reason, undefined, wasClean);
  }

  /** After a lost connection or a failed attempt: schedule the next attempt, or give up. */
  _afterFailure(code, reason, error, wasClean = false) {
    const staticTokenExpired = code === 4001 && typeof this._token !== 'function';
    const again = this.options.reconnect && !staticTokenExpired && this._attempt < this.options.maxRetries;
    if (!error) this._emit('close', { code, reason, wasClean, willReconnect: again });
    if (!this._wanted) return; // a close handler called disconnect()
    if (!again) {
      this._wanted = false;
      this._failAll('DISCONNECTED', `connection closed (${code}) and not retried`);
      this._setState('closed', { code, reason, error });
      return;
    }
    if (PENALTY_CLOSES.has(code)) this._attempt = Math.max(this._attempt, 4);
    const { backoffBase, backoffCap } = this.options;
    const delay = Math.round(Math.random() * Math.min(backoffCap, backoffBase * 2 ** this._attempt));
    this._attempt++;
    this._setState('reconnecting', { attempt: this._attempt, delay, code, reason, error });
    if (!this._wanted) return; // a state handler called disconnect()
    this._timers.retry = setTimeout(() => { this._timers.retry = null; this._open(code === 4001); }, delay);
  }

  _attemptNow() {
    clearTimeout(this._timers.retry);
    this._timers.retry = null;
    this._open(this._lastClose !== null && this._lastClose.code === 4001);
  }

  // ---- requests ----------------------------------------------------------------------

  _makeItem(type, payload, room, internal) {
    const frame = { type };
    if (room) frame.room = room;
    if (payload !== undefined) frame.payload = payload;
    if (REPLY_TYPES.has(type)) frame.id = `c-${++this._nextId}`;
    const item = { frame, text: JSON.stringify(frame), internal, timer: null };
    item.promise = new Promise((resolve, reject) => { item.resolve = resolve; item.reject = reject; });
    item.promise.catch(() => {}); // callers that ignore the promise get no unhandled-rejection noise
    return item;
  }

  _request(type, payload, room, internal) {
    const item = this._makeItem(type, payload, room, internal);
    const open = this._isOpen();
    let refusal = null;
    if (encoder.encode(item.text).length > this.options.maxFrameBytes) {
      refusal = new ParleyError('FRAME_TOO_LARGE', `frame of ${type} exceeds ${this.options.maxFrameBytes} bytes`);
    } else if (EPHEMERAL_TYPES.has(type) && !open) {
      item.resolve(false);
      return item.promise;
    } else if (this._started && !this._wanted) {
      refusal = new ParleyError('DISCONNECTED', 'client is closed; call connect() first');
    } else if (!internal && !(open && this._outbox.length === 0)
        && this._outbox.filter((i) => !i.internal).length >= this.options.maxQueue) {
      refusal = new ParleyError('QUEUE_FULL', `${this.options.maxQueue} requests already waiting for the connection`);
    }
    if (refusal) { this._fail(item, refusal); return item.promise; }

    const roomId = payload && payload.room_id;
    if (type === 'join_room' && !internal && roomId) {
      item.room = roomId;
      item.wasMember = this._rooms.has(roomId);
      this._rooms.add(roomId);
    } else if (type === 'leave_room' && roomId) {
      this._rooms.delete(roomId);
      this._seq.delete(roomId);
      const t = this._typing.get(roomId);
      if (t) { clearTimeout(t.timer); this._typing.delete(roomId); }
    }
    if (open && this._outbox.length === 0) this._transmit(item);
    else { this._outbox.push(item); if (open) this._pump(); }
    return item.promise;
  }

  /** Sends queued frames: `flushBurst` at once, then `flushRate` per second. */
  _pump() {
    clearTimeout(this._timers.pump);
    this._timers.pump = null;
    const { flushRate, flushBurst } = this.options;
    while (this._outbox.length && this._isOpen()) {
      const now = Date.now();
      this._bucket = Math.min(flushBurst, this._bucket + ((now - this._bucketAt) * flushRate) / 1000);
      this._bucketAt = now;
      if (this._bucket < 1) {
        this._timers.pump = setTimeout(() => this._pump(), Math.ceil(((1 - this._bucket) * 1000) / flushRate));
        return;
      }
      this._bucket -= 1;
      this._transmit(this._outbox.shift());
    }
  }

  _transmit(item) {
    this._ws.send(item.text);
    if (!item.frame.id) { item.resolve(true); return; }
    this._pending.set(item.frame.id, item);
    item.timer = setTimeout(() => {
      this._pending.delete(item.frame.id);
      this._fail(item, new ParleyError('TIMEOUT', `no reply to ${item.frame.type} within ${this.options.requestTimeout} ms`));
    }, this.options.requestTimeout);
  }

  _fail(item, error) {
    clearTimeout(item.timer);
    // A join that failed is not rejoined later, unless the server may have done it
    // (lost connection, timeout): then the next reconnect settles it either way.
    if (item.room !== undefined && !item.wasMember && error.code !== 'CONNECTION_LOST'
        && error.code !== 'TIMEOUT') this._rooms.delete(item.room);
    if (this.options.logger && !error.frame && !item.internal) {
      this.options.logger.warn(`parley: ${item.frame.type} failed: ${error.code}: ${error.message}`);
    }
    item.reject(error);
  }

  _failAll(code, message) {
    for (const item of [...this._pending.values(), ...this._outbox]) {
      if (item.internal) clearTimeout(item.timer);
      else this._fail(item, new ParleyError(code, message));
    }
    this._pending.clear();
    this._outbox = [];
  }

  // ---- incoming frames ---------------------------------------------------------------

  _onFrame(data) {
    if (typeof data !== 'string') return;
    let msg;
    try { msg = JSON.parse(data); } catch { this._warn('ignored a frame that is not JSON'); return; }
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;
    msg.payload = normalizePayload(msg.payload, this.options.legacyPayloadString);
    const room = msg.room || (msg.payload && msg.payload.room_id);
    if (msg.type === 'connected') this._session = msg.payload || null;
    else if (msg.type === 'room_info' && room) this._seq.delete(room);
    else if (msg.type === 'new_message') this._trackSeq(room, msg.seq, true);

    const item = msg.type !== 'new_message' && msg.id != null ? this._pending.get(msg.id) : undefined;
    if (item) {
      this._pending.delete(msg.id);
      clearTimeout(item.timer);
      if (msg.type === 'ack' && item.frame.type === 'send_message' && msg.payload) {
        this._trackSeq(item.frame.room, msg.payload.seq, false);
      }
    }
    this._emit(msg.type, msg);
    this._emit('*', msg);
    if (!item) return;
    if (msg.type !== 'error') { item.resolve(msg); return; }
    const err = new ParleyError((msg.payload && msg.payload.code) || 'ERROR', msg.payload && msg.payload.message, msg);
    if (item.internal) this._rejoinFailed(item.frame.payload.room_id, err);
    else this._fail(item, err);
  }

  _rejoinFailed(room, error) {
    if (!this._rooms.has(room)) return;
    if (error.code === 'RATE_LIMITED') { // try again shortly on the same connection
      const gen = this._gen;
      setTimeout(() => {
        if (gen === this._gen && this._isOpen() && this._rooms.has(room)) this._request('join_room', { room_id: room }, '', true);
      }, 1000 + Math.random() * 1000);
      return;
    }
    this._rooms.delete(room);
    this._emit('rejoin_failed', { room, error });
  }

  _trackSeq(room, seq, fromMessage) {
    if (!room || !Number.isInteger(seq)) return;
    const last = this._seq.get(room);
    if (fromMessage && last !== undefined && seq > last + 1) this._emit('gap', { room, expected: last + 1, got: seq });
    if (last === undefined || seq === 1 || seq > last) this._seq.set(room, seq);
  }

  // ---- helpers -----------------------------------------------------------------------

  _isOpen() { return this._state === 'open' && this._ws !== null && this._ws.readyState === OPEN; }

  _buildUrl(token) {
    const here = globalThis.location ? globalThis.location.href : undefined;
    const u = new URL(this.url || '/ws', here);
    if (u.protocol === 'http:') u.protocol = 'ws:';
    else if (u.protocol === 'https:') u.protocol = 'wss:';
    if (token && this.options.tokenTransport === 'query') u.searchParams.set('token', token);
    return u.toString();
  }

  _clearTimers(includingRetry) {
    clearTimeout(this._timers.connect);
    clearTimeout(this._timers.stable);
    clearInterval(this._timers.ping);
    clearTimeout(this._timers.pump);
    if (includingRetry) { clearTimeout(this._timers.retry); this._timers.retry = null; }
    for (const t of this._typing.values()) clearTimeout(t.timer);
    this._typing.clear();
  }

  _setState(state, detail = {}) {
    this._state = state;
    this._emit('state', { state, ...detail });
  }

  _emit(type, event) {
    const list = this._handlers.get(type);
    if (!list) return;
    for (const handler of [...list]) {
      try { handler(event); } catch (err) { this._warn(`a "${type}" handler threw`, err); }
    }
  }

  _warn(message, err) {
    if (this.options.logger) this.options.logger.warn(`parley: ${message}`, ...(err ? [err] : []));
  }
}

/** Stops a socket we abandoned from calling back into the client. */
function detach(ws) {
  ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
}

/** Parses a JSON-string payload; gives object payloads a hidden JSON toString (see module doc). */
function normalizePayload(payload, legacy) {
  let p = payload;
  if (typeof p === 'string') {
    try { const parsed = JSON.parse(p); if (parsed && typeof parsed === 'object') p = parsed; } catch { return p; }
  }
  if (legacy && p && typeof p === 'object' && !Array.isArray(p) && !Object.prototype.hasOwnProperty.call(p, 'toString')) {
    Object.defineProperty(p, 'toString', {
      value() { return JSON.stringify(this); }, enumerable: false, configurable: true, writable: true,
    });
  }
  return p;
}

export { ParleyClient as WebSocketClient };
export default ParleyClient;
