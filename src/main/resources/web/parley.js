/**
 * parley.js: browser client for the Parley realtime rooms server (wire protocol version 2,
 * `docs/protocol.md`; version 1 servers work too, without recovery).
 *
 * A dependency-free ES module. No build step: `import { ParleyClient } from '/parley.js'`.
 *
 * ```js
 * const client = new ParleyClient('ws://localhost:8080/ws', () => fetchToken());
 * client.on('new_message', (msg) => console.log(`${msg.sender.name}: ${msg.payload.content}`));
 * client.connect();
 * await client.joinRoom('general', { history: 50 }); // resolves with `room_info`; the newest 50 follow as new_message
 * await client.sendMessage('general', 'Hi');          // resolves with the `ack` frame {message_id, seq}
 * const older = await client.history('general', { before: 120, limit: 50 }); // scrolling back
 * ```
 *
 * Porting code written for the `WebSocketClient` example client of the earlier Go server:
 * the class is also exported under that name, with the same constructor and methods.
 * That example read `JSON.parse(msg.payload).content`; payloads are objects now, so write
 * `msg.payload.content`. The old line still works: unless `legacyPayloadString: false`,
 * every object payload gets a hidden (non-enumerable) `toString()` that returns its JSON,
 * so `JSON.parse(msg.payload)` returns a copy of it. A payload the server sends as a JSON
 * string is parsed into an object before handlers see it.
 *
 * How the client behaves:
 * - Reconnects by itself after any close that `disconnect()` did not cause: exponential
 *   backoff with full jitter, `random(0, min(backoffCap, backoffBase * 2^attempt))`, so never
 *   more than 5 s by default, and a crowd of clients spreads out. The attempt count goes back
 *   to 0 once a connection has stayed open `stableAfter` ms. When the browser comes back
 *   `online` or the tab becomes visible, a waiting attempt starts at once (and an open
 *   connection is checked with a ping). `reconnect()` retries at once: a "retry now" button.
 * - Closes 1003/1008/1009 (binary frame, abuse, frame too big: the page misbehaved) also
 *   reconnect, but only after `penaltyDelay` plus the jittered backoff, so a faulty page
 *   cannot loop fast. Close 4001 (token expired) reconnects with a fresh token from the
 *   supplier; with a fixed token string it stops instead, as a new attempt cannot succeed.
 *   Close 4003 (disconnected by the server API) never reconnects: state `closed` with its code
 *   and reason, and every pending or queued request fails with `DISCONNECTED_BY_SERVER`.
 * - Refusals: browsers hide why an upgrade was refused; it shows as close 1006 before open.
 *   After `checkAfter` such failures in a row, the client asks the server's pre-check
 *   (`POST /ws/check` next to the socket's URL, the token as `Authorization: Bearer`) and, when
 *   it says no, emits `refused` {status, reason, detail, retryAfter}: `origin_not_allowed`
 *   (403), `token_rejected` (401; `detail` says why), `unavailable` (503). A `Retry-After`
 *   delays the next attempt by at least that many seconds, plus jitter. A rejected token asks
 *   the supplier for a new one (`expired: true`); a fixed token string stops (state `closed`).
 *   Online and visibility events do not cut a Retry-After or penalty wait short; `reconnect()` does.
 * - The token (or `getToken()` supplier, sync or async) is asked again before every attempt.
 * - Rooms joined with `joinRoom()` are remembered and joined again after each reconnect
 *   (with the same `history` option, and `since`: see below), before queued requests are sent.
 *   `leaveRoom()` forgets the room.
 * - Requests made while not open wait in a bounded queue (`maxQueue`) and go out, in order,
 *   on open; a full queue rejects with `QUEUE_FULL`, never drops silently. After a reconnect
 *   the rejoins and the queue are sent at `flushBurst` then `flushRate`/s, under the server's
 *   rate limit. `typing`/`stop_typing` are not queued: they are stale by the time we reconnect.
 * - A request that was sent but had no reply when the connection was lost is rejected with
 *   `CONNECTION_LOST` (`retriable: true`) and not sent again: the server may have handled it,
 *   and resending a `send_message` could post it twice. The caller decides.
 * - `disconnect()` rejects everything pending or queued with `DISCONNECTED`.
 * - History and recovery: per room, the client remembers the log's `epoch` and the last `seq`
 *   it accounted for (from `room_info`, `new_message` and the acks of its own messages), and
 *   rejoins with `payload.since` {seq, epoch}. The server replays what was missed, and the
 *   client emits `recovered` {room, recovered, missed}; `recovered: false` means messages were
 *   lost for good (`missed`: how many were sent meanwhile, null when the room's log was
 *   replaced). Each (room, epoch, seq) is delivered once, in seq order, across reconnects.
 *   When the live stream skips a seq (the server dropped frames for a slow connection), the
 *   later messages wait while the client asks `history` {after} for the missing ones (again
 *   while more are missing, up to `gapFillLimit`), and `gap` {room, expected, got} is emitted
 *   only for what the server no longer has. A gap that the ack of one of our own messages in
 *   flight may fill waits for that ack. A version 1 server sends no epoch: then nothing is
 *   deduplicated or recovered, and a skip is reported as `gap` at once.
 *
 * @module parley
 */

/**
 * A frame from the server (see docs/protocol.md). `payload` is always an object when the
 * server sent an object or a JSON string of one.
 * @typedef {{type: string, room?: string, payload?: any, id?: string,
 *   sender?: {id: string, name: string}, timestamp?: string, seq?: number}} Frame
 */

/**
 * Options; all optional.
 * @typedef {object} ParleyOptions
 * @property {boolean} [reconnect=true] reconnect after closes not caused by `disconnect()`
 * @property {number} [maxRetries=Infinity] consecutive failed attempts before giving up (state `closed`)
 * @property {number} [backoffBase=500] ms, first backoff window
 * @property {number} [backoffCap=5000] ms, largest backoff window
 * @property {number} [penaltyDelay=5000] ms added to the backoff after close 1003/1008/1009
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
 * @property {number} [checkAfter=2] failed attempts in a row (none opened) before asking the
 *   pre-check why; 0 never asks
 * @property {string|null} [checkUrl] the pre-check's URL (default: the socket's URL + `/check`,
 *   over http(s)); null never asks
 * @property {number} [checkTimeout=5000] ms the pre-check may take
 * @property {number} [gapFillLimit=1000] the most messages asked with `history` to fill one gap;
 *   a larger gap is reported as `gap` at once
 * @property {'query'|'protocol'} [tokenTransport='query'] `?token=` or Sec-WebSocket-Protocol `bearer, JWT`
 * @property {boolean} [legacyPayloadString=true] give payloads a hidden JSON `toString()` (see above)
 * @property {typeof WebSocket} [WebSocket] WebSocket class (defaults to the global one)
 * @property {typeof fetch} [fetch] fetch function for the pre-check (defaults to the global one)
 * @property {Console|null} [logger=console] where warnings go; null for silence
 */

const DEFAULTS = {
  reconnect: true, maxRetries: Infinity, backoffBase: 500, backoffCap: 5000, penaltyDelay: 5000,
  stableAfter: 5000, connectTimeout: 15000, requestTimeout: 10000, maxQueue: 100, maxFrameBytes: 4096,
  flushBurst: 30, flushRate: 15, pingInterval: 25000, typingIdle: 3000,
  checkAfter: 2, checkUrl: undefined, checkTimeout: 5000, gapFillLimit: 1000,
  tokenTransport: 'query', legacyPayloadString: true, WebSocket: undefined, fetch: undefined, logger: console,
};

/** Request types the server answers (the reply carries our `id`). */
const REPLY_TYPES = new Set(['join_room', 'leave_room', 'send_message', 'online_users', 'history', 'ping']);
/** Fire-and-forget signals that make no sense later: never queued while offline. */
const EPHEMERAL_TYPES = new Set(['typing', 'stop_typing']);
/** Closes that the page caused: reconnect, but slowly. */
const PENALTY_CLOSES = new Set([1003, 1008, 1009]);
const RETRIABLE = new Set(['TIMEOUT', 'CONNECTION_LOST', 'RATE_LIMITED', 'UNAVAILABLE', 'INTERNAL']);
/** The server's largest `history` page. */
const HISTORY_PAGE = 100;
/** Live messages held behind a gap before the gap is reported unfilled. */
const MAX_HELD = 1000;
const OPEN = 1; // WebSocket.OPEN
const encoder = new TextEncoder();

/**
 * The rejection reason of every request promise.
 * `code` is the server's error code (`RATE_LIMITED`, `NOT_IN_ROOM`, `UNAVAILABLE`, ...) with
 * `frame` the `error` frame, or a local one: `TIMEOUT`, `CONNECTION_LOST`, `DISCONNECTED`,
 * `DISCONNECTED_BY_SERVER`, `QUEUE_FULL`, `FRAME_TOO_LARGE` (then `frame` is null).
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
 * Where a room's message stream stands, for dedup, gap filling and recovery.
 * Everything up to `pos` is accounted for: delivered, ours, before our join, or reported as a gap.
 */
class RoomTrack {
  /** @param {string|null} epoch null: a version 1 server (no dedup, no recovery) */
  constructor(epoch) {
    this.epoch = epoch;
    /** @type {number|null} null until a version 1 server shows a first seq */
    this.pos = null;
    /**
     * After a join: seqs up to `upTo` are replays, `last` is the newest delivered, `own` are
     * our acknowledged messages among them (not delivered back to us).
     * @type {{upTo: number, last: number, own: Set<number>}|null}
     */
    this.replay = null;
    /** seqs of our own acknowledged messages above `pos` */
    this.own = new Set();
    /** @type {Frame[]} live messages waiting behind a gap, oldest first */
    this.held = [];
    this.filling = false;
  }

  /** The seq to recover from: all up to it was delivered. */
  get since() { return this.replay ? this.replay.last : this.pos; }
}

/**
 * Parley client. Events (subscribe with `on`):
 * - every server frame type: `connected`, `new_message`, `user_joined`, `user_left`,
 *   `user_typing`, `room_info`, `online_users`, `history`, `ack`, `error`, `pong`; `*` gets
 *   all of them (the client's own gap-filling `history` replies excepted);
 * - `state` {state, attempt?, delay?, code?, reason?, error?, refused?}: `connecting`, `open`,
 *   `reconnecting` (once per scheduled attempt), `closed`;
 * - `close` {code, reason, wasClean, willReconnect, deliberate?}: each lost connection (the
 *   pre-check's `token_rejected` may still stop a fixed-token client that said `willReconnect`);
 * - `refused` {status, reason, detail, retryAfter}: the pre-check's answer to repeated failures;
 * - `recovered` {room, recovered, missed}: the outcome of a rejoin with `since`;
 * - `gap` {room, expected, got}: seqs `expected` to `got - 1` of a room are lost;
 * - `rejoin_failed` {room, error}: a remembered room could not be joined again (now forgotten).
 */
export class ParleyClient {
  /**
   * @param {string} [url] e.g. `ws://host:8080/ws`; `http(s)://` and paths are accepted
   *   (default: `/ws` on the page's own host)
   * @param {string|((info: {expired: boolean, attempt: number}) => string|Promise<string>)} [tokenOrSupplier]
   *   a JWT, or a function returning one, called before every connection attempt;
   *   `expired` is true after close 4001 or a `token_rejected` refusal: the last token is no good
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
    this._failedOpens = 0;  // attempts in a row that ended before the socket opened
    this._opened = false;   // the current socket opened
    this._waiting = false;  // between attempts: a retry is scheduled, or the pre-check runs
    this._floor = false;    // the scheduled retry waits out a Retry-After or a penalty
    this._expired = false;  // the next token asked for must be a new one
    this._lastToken = null;
    this._timers = {};      // retry, connect, stable, ping, pump
    this._rooms = new Map(); // room -> {history}: joined again after a reconnect
    this._tracks = new Map(); // room -> RoomTrack
    this._confirmed = new Set(); // rooms whose room_info came on the current socket
    this._outbox = [];      // items waiting to be sent, in order
    this._pending = new Map(); // id -> sent item awaiting its reply
    this._nextId = 0;
    this._typing = new Map(); // room -> {idle, cooldown}: timers of stop_typing and of the next typing
    this._pinging = false;
    this._session = null;
    this._bucket = 0;       // frames the pump may send now
    this._onWake = () => this._wake();
    this._onVisibility = () => { if (globalThis.document.visibilityState === 'visible') this._wake(); };
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
  get rooms() { return [...this._rooms.keys()]; }
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
    this._failedOpens = 0;
    this._listen(true);
    this._setState('connecting');
    this._open();
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
    this._waiting = false;
    this._gen++;
    this._ws = null;
    this._clearTimers(true);
    this._resetConnection();
    if (ws) { detach(ws); try { ws.close(code, reason); } catch { /* already closing */ } }
    this._failAll(() => new ParleyError('DISCONNECTED', 'disconnect() was called'));
    this._listen(false);
    if (wasActive) {
      this._emit('close', { code, reason, wasClean: true, willReconnect: false, deliberate: true });
      this._setState('closed', { code, reason });
    }
  }

  /**
   * Retries now: drops the current connection (if any) and opens a new one at once, with a
   * fresh token, whatever the backoff (or a Retry-After) said. After giving up, connects again.
   */
  reconnect() {
    if (!this._wanted) { this.connect(); return; }
    this._attempt = 0;
    if (this._ws) this._drop(this._ws, 'reconnect() called');
    if (this._waiting) this._attemptNow();
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
   * server answers (`join_room`, `leave_room`, `send_message`, `online_users`, `history`,
   * `ping`) get an `id` and resolve with the reply frame; other types resolve `true` once
   * written (`typing`/`stop_typing` resolve `false` when not open, as they are not queued).
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
   * (`payload.users`, `payload.count`, and from a version 2 server `payload.seq`, `payload.epoch`).
   * @param {string} roomId
   * @param {{history?: number}} [opts] `history`: the newest K messages (0-100) to get after
   *   `room_info`, as `new_message` frames; also asked again by rejoins that cannot recover
   * @returns {Promise<Frame>}
   */
  joinRoom(roomId, opts = {}) {
    const payload = { room_id: roomId };
    if (opts.history) payload.history = opts.history;
    return this.send('join_room', payload);
  }

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

  /**
   * Reads a room's kept messages (the caller must be a member). Resolves with the `history`
   * frame, `payload` {room_id, epoch, seq, messages}: `messages` are `new_message` objects,
   * oldest first. These are not delivered as events: `before` the oldest one shown scrolls back.
   * @param {string} roomId
   * @param {{before?: number, after?: number, limit?: number}} [opts] `before` or `after` a
   *   seq (neither: the newest), `limit` 1-100 (server default 50)
   * @returns {Promise<Frame>}
   */
  history(roomId, opts = {}) {
    const payload = {};
    for (const key of ['before', 'after', 'limit']) if (opts[key] !== undefined) payload[key] = opts[key];
    return this.send('history', payload, roomId);
  }

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
    const { typingIdle } = this.options;
    const t = this._typing.get(roomId) || { idle: null, cooldown: null };
    let sent = Promise.resolve(false);
    if (!t.cooldown) {
      t.cooldown = setTimeout(() => { t.cooldown = null; }, typingIdle);
      sent = this.send('typing', { room_id: roomId }, roomId);
    }
    clearTimeout(t.idle);
    t.idle = setTimeout(() => this.stopTyping(roomId), typingIdle);
    this._typing.set(roomId, t);
    return sent;
  }

  /**
   * Sends `stop_typing` now if `typing()` was signalled in this room.
   * @param {string} roomId
   * @returns {Promise<boolean>} whether a frame was sent
   */
  stopTyping(roomId) {
    if (!this._typing.has(roomId)) return Promise.resolve(false);
    this._forgetTyping(roomId);
    return this.send('stop_typing', { room_id: roomId }, roomId);
  }

  // ---- connection lifecycle ----------------------------------------------------------

  async _open() {
    const gen = ++this._gen;
    const expired = this._expired;
    this._expired = false;
    this._waiting = false;
    this._floor = false;
    this._opened = false;
    let token;
    try {
      token = typeof this._token === 'function'
        ? await this._token({ expired, attempt: this._attempt })
        : this._token;
    } catch (error) {
      if (gen === this._gen && this._wanted) this._afterFailure(0, 'token supplier failed', { error });
      return;
    }
    if (gen !== this._gen || !this._wanted) return;
    this._lastToken = token;
    const WS = this.options.WebSocket || globalThis.WebSocket;
    let ws;
    try {
      const protocols = token && this.options.tokenTransport === 'protocol' ? ['bearer', token] : undefined;
      ws = new WS(this._buildUrl(token), protocols);
    } catch (error) {
      this._afterFailure(0, 'cannot open socket', { error });
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
    this._opened = true;
    this._failedOpens = 0;
    this._timers.stable = setTimeout(() => { this._attempt = 0; }, this.options.stableAfter);
    // Rejoin remembered rooms first, except those the queue is about to join anyway. This
    // is queued before the `open` event, so requests made by its handlers go after it.
    const queuedJoins = new Set(this._outbox.filter((i) => i.frame.type === 'join_room').map((i) => i.room));
    const rejoins = [...this._rooms].filter(([room]) => !queuedJoins.has(room))
      .map(([room, { history }]) => this._makeItem('join_room', history ? { room_id: room, history } : { room_id: room }, '', true));
    this._outbox.unshift(...rejoins);
    this._bucket = this.options.flushBurst;
    this._setState('open', { attempt: this._attempt });
    if (ws !== this._ws) return; // a state handler disconnected or reconnected
    this._pump();
    if (this.options.pingInterval > 0) this._timers.ping = setInterval(() => this._heartbeat(), this.options.pingInterval);
  }

  /** Pings; no pong within `requestTimeout` drops the connection (and reconnects). */
  _heartbeat() {
    const ws = this._ws;
    if (this._pinging || !this._isOpen()) return;
    this._pinging = true;
    this._request('ping', undefined, '', true).then(
      () => { this._pinging = false; },
      (err) => {
        this._pinging = false;
        if (err.code === 'TIMEOUT') this._drop(ws, 'heartbeat timeout');
      });
  }

  /** The browser is back online or the tab visible: attempt now, or check the open socket. */
  _wake() {
    if (!this._wanted) return;
    if (this._isOpen()) this._heartbeat();
    else if (this._waiting && !this._floor) this._attemptNow();
  }

  _listen(on) {
    const method = on ? 'addEventListener' : 'removeEventListener';
    if (typeof globalThis[method] === 'function') globalThis[method]('online', this._onWake);
    const doc = globalThis.document;
    if (doc && typeof doc[method] === 'function') doc[method]('visibilitychange', this._onVisibility);
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
    this._resetConnection();
    // Internal rejoins and typing signals are rebuilt or stale: drop them. User requests stay.
    const keep = [];
    for (const item of this._outbox) {
      if (item.internal) this._fail(item, new ParleyError('CONNECTION_LOST', 'connection closed before sending'));
      else if (EPHEMERAL_TYPES.has(item.frame.type)) item.resolve(false);
      else keep.push(item);
    }
    this._outbox = keep;
    const pending = [...this._pending.values()];
    this._pending.clear();
    for (const item of pending) {
      this._fail(item, code === 4003 ? disconnectedByServer(reason)
        : new ParleyError('CONNECTION_LOST', `connection closed (${code}) before the reply`));
    }
    if (!this._wanted) return;
    this._afterFailure(code, reason, { wasClean, opened: this._opened });
  }

  /** Whether a lost connection with this close code is tried again. */
  _willRetry(code) {
    if (!this.options.reconnect || code === 4003 || this._attempt >= this.options.maxRetries) return false;
    return code !== 4001 || typeof this._token === 'function';
  }

  /** After a lost connection or a failed attempt: ask the pre-check if due, then schedule the next attempt, or give up. */
  _afterFailure(code, reason, { error, wasClean = false, opened = false }) {
    const again = this._willRetry(code);
    if (!error) {
      if (!opened) this._failedOpens++;
      this._emit('close', { code, reason, wasClean, willReconnect: again });
    }
    if (!this._wanted) return; // a close handler called disconnect()
    if (!again) { this._giveUp({ code, reason, error }); return; }
    if (code === 4001) this._expired = true;
    this._waiting = true;
    const gen = this._gen;
    const { checkAfter } = this.options;
    if (error || checkAfter <= 0 || this._failedOpens < checkAfter) { this._schedule({ code, reason, error }); return; }
    this._precheck(this._lastToken).then((refused) => {
      if (gen === this._gen && this._wanted && this._waiting) this._schedule({ code, reason, error, refused });
    });
  }

  _schedule(detail) {
    const { refused, code } = detail;
    if (refused) {
      this._emit('refused', refused);
      if (!this._wanted || !this._waiting) return; // a handler disconnected or reconnected
      if (refused.reason === 'token_rejected') {
        if (typeof this._token !== 'function') { this._giveUp(detail); return; }
        this._expired = true;
      }
    }
    let floor = PENALTY_CLOSES.has(code) ? this.options.penaltyDelay : 0;
    if (refused && refused.retryAfter) floor = Math.max(floor, refused.retryAfter * 1000);
    const { backoffBase, backoffCap } = this.options;
    const delay = floor + Math.round(Math.random() * Math.min(backoffCap, backoffBase * 2 ** this._attempt));
    this._attempt++;
    this._floor = floor > 0;
    this._setState('reconnecting', { attempt: this._attempt, delay, ...detail });
    if (!this._wanted || !this._waiting) return; // a state handler disconnected or reconnected
    this._timers.retry = setTimeout(() => { this._timers.retry = null; this._open(); }, delay);
  }

  _attemptNow() {
    clearTimeout(this._timers.retry);
    this._timers.retry = null;
    this._open();
  }

  _giveUp(detail) {
    this._wanted = false;
    this._waiting = false;
    this._listen(false);
    this._failAll(() => (detail.code === 4003 ? disconnectedByServer(detail.reason)
      : new ParleyError('DISCONNECTED', `connection closed (${detail.code}) and not retried`)));
    this._setState('closed', detail);
  }

  /**
   * Asks the server why attempts fail. Resolves with the refusal {status, reason, detail,
   * retryAfter}, or null when it lets us in, cannot be reached, or is not a Parley pre-check.
   */
  async _precheck(token) {
    const fetchFn = this.options.fetch || globalThis.fetch;
    const url = this._checkUrl();
    if (typeof fetchFn !== 'function' || !url) return null;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.options.checkTimeout);
    try {
      const res = await fetchFn(url, {
        method: 'POST',
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        signal: abort.signal,
      });
      if (res.ok) return null;
      let body = null;
      try { body = await res.json(); } catch { /* not JSON */ }
      const reason = body && typeof body.reason === 'string' ? body.reason : (res.status === 503 ? 'unavailable' : null);
      if (!reason) return null;
      return {
        status: res.status,
        reason,
        detail: body && typeof body.detail === 'string' ? body.detail : null,
        retryAfter: retryAfterSeconds(res.headers && res.headers.get('Retry-After')),
      };
    } catch {
      return null; // unreachable too: the socket attempts say as much
    } finally {
      clearTimeout(timer);
    }
  }

  _checkUrl() {
    if (this.options.checkUrl !== undefined) return this.options.checkUrl;
    const u = new URL(this._buildUrl(null));
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
    u.pathname = `${u.pathname.replace(/\/$/, '')}/check`;
    u.search = '';
    return u.toString();
  }

  // ---- requests ----------------------------------------------------------------------

  _makeItem(type, payload, room, internal, quiet = false) {
    const frame = { type };
    if (room) frame.room = room;
    if (payload !== undefined) frame.payload = payload;
    if (REPLY_TYPES.has(type)) frame.id = `c-${++this._nextId}`;
    const item = { frame, text: JSON.stringify(frame), internal, quiet, timer: null };
    item.promise = new Promise((resolve, reject) => { item.resolve = resolve; item.reject = reject; });
    item.promise.catch(() => {}); // callers that ignore the promise get no unhandled-rejection noise
    return item;
  }

  _request(type, payload, room, internal, quiet = false) {
    const item = this._makeItem(type, payload, room, internal, quiet);
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
      this._rooms.set(roomId, { history: payload.history || 0 });
    } else if (type === 'leave_room' && roomId) {
      this._rooms.delete(roomId);
      this._tracks.delete(roomId);
      this._confirmed.delete(roomId);
      this._forgetTyping(roomId);
    }
    if (open && this._outbox.length === 0) this._transmit(item);
    else { this._outbox.push(item); if (open) this._pump(); }
    return item.promise;
  }

  /** Sends queued frames: `flushBurst` at once (from open), then one per 1/`flushRate` s. */
  _pump() {
    if (this._timers.pump) return; // waiting for the next frame's turn
    while (this._outbox.length && this._isOpen()) {
      if (this._bucket < 1) {
        this._timers.pump = setTimeout(() => {
          this._timers.pump = null;
          this._bucket += 1;
          this._pump();
        }, 1000 / this.options.flushRate);
        return;
      }
      this._bucket -= 1;
      this._transmit(this._outbox.shift());
    }
  }

  _transmit(item) {
    if (item.frame.type === 'join_room') this._addSince(item);
    this._ws.send(item.text);
    if (!item.frame.id) { item.resolve(true); return; }
    this._pending.set(item.frame.id, item);
    item.timer = setTimeout(() => {
      this._pending.delete(item.frame.id);
      this._fail(item, new ParleyError('TIMEOUT', `no reply to ${item.frame.type} within ${this.options.requestTimeout} ms`));
      this._settled(item);
    }, this.options.requestTimeout);
  }

  /** A join of a room we have a position in, not yet joined on this socket, asks to recover from there. */
  _addSince(item) {
    const payload = item.frame.payload || {};
    const t = this._tracks.get(payload.room_id);
    item.history = Number.isInteger(payload.history) ? payload.history : 0;
    if (!t || t.epoch === null || payload.since !== undefined || this._confirmed.has(payload.room_id)) return;
    item.since = { seq: t.since, epoch: t.epoch };
    item.frame.payload = { ...payload, since: item.since };
    item.text = JSON.stringify(item.frame);
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

  /** Rejects everything pending or queued, each with an error of `makeError()`. */
  _failAll(makeError) {
    const items = [...this._pending.values(), ...this._outbox];
    this._pending.clear();
    this._outbox = [];
    for (const item of items) this._fail(item, makeError());
  }

  /** A request left the pending set: a gap that waited for one of our acks may go on. */
  _settled(item) {
    if (item.frame.type === 'send_message') this._fillGap(item.frame.room);
  }

  // ---- incoming frames ---------------------------------------------------------------

  _onFrame(data) {
    if (typeof data !== 'string') return;
    let msg;
    try { msg = JSON.parse(data); } catch { this._warn('ignored a frame that is not JSON'); return; }
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;
    msg.payload = normalizePayload(msg.payload, this.options.legacyPayloadString);
    const room = msg.room || (msg.payload && msg.payload.room_id);
    if (msg.type === 'new_message') { this._onMessage(room, msg); return; }

    const item = msg.id != null ? this._pending.get(msg.id) : undefined;
    if (item) { this._pending.delete(msg.id); clearTimeout(item.timer); }
    let recovery = null;
    if (msg.type === 'connected') this._session = msg.payload || null;
    else if (msg.type === 'room_info' && room) recovery = this._onRoomInfo(room, msg.payload || {}, item);
    else if (msg.type === 'history' && msg.payload && Array.isArray(msg.payload.messages)) {
      for (const m of msg.payload.messages) if (m) m.payload = normalizePayload(m.payload, this.options.legacyPayloadString);
    } else if (msg.type === 'ack' && item && item.frame.type === 'send_message' && msg.payload) {
      this._ownSeq(item.frame.room, msg.payload.seq);
    }
    if (!item || !item.quiet) {
      this._emit(msg.type, msg);
      this._emit('*', msg);
    }
    if (recovery) this._emit('recovered', recovery);
    if (!item) return;
    if (msg.type !== 'error') item.resolve(msg);
    else {
      const err = new ParleyError((msg.payload && msg.payload.code) || 'ERROR', msg.payload && msg.payload.message, msg);
      if (item.internal && item.frame.type === 'join_room') this._rejoinFailed(item.frame.payload.room_id, err);
      else this._fail(item, err);
    }
    this._settled(item);
  }

  _rejoinFailed(room, error) {
    if (!this._rooms.has(room)) return;
    if (error.code === 'RATE_LIMITED' || error.code === 'UNAVAILABLE') { // try again shortly on the same connection
      const gen = this._gen;
      setTimeout(() => {
        const options = this._rooms.get(room);
        if (gen !== this._gen || !this._isOpen() || !options) return;
        this._request('join_room', options.history ? { room_id: room, history: options.history } : { room_id: room }, '', true);
      }, 1000 + Math.random() * 1000);
      return;
    }
    this._rooms.delete(room);
    this._tracks.delete(room);
    this._emit('rejoin_failed', { room, error });
  }

  // ---- room streams: dedup, replays, gaps --------------------------------------------

  /**
   * A join's `room_info` sets where the room's stream starts. Returns the `recovered` event
   * when the join asked for `since`.
   */
  _onRoomInfo(room, payload, item) {
    // Joined again on the same socket: nothing is replayed, the stream goes on as it was.
    if (this._confirmed.has(room) || !this._rooms.has(room)) return null;
    this._confirmed.add(room);
    const old = this._tracks.get(room);
    const epoch = typeof payload.epoch === 'string' ? payload.epoch : null;
    const latest = Number.isInteger(payload.seq) ? payload.seq : null;
    const t = new RoomTrack(latest === null ? null : epoch);
    this._tracks.set(room, t);
    if (t.epoch === null) return null; // version 1: tracking starts with the first seq seen
    const sameLog = old !== undefined && old.epoch === t.epoch && old.since !== null;
    const delivered = sameLog ? old.since : 0;
    const since = item && item.since;
    const recovered = since !== undefined && payload.recovered === true;
    // Replays are the messages after `since` (recovered) or the newest `history` ones, minus
    // any we delivered before; live messages come after `latest`.
    const firstReplayAfter = recovered ? since.seq : Math.max(delivered, latest - ((item && item.history) || 0));
    t.pos = latest;
    if (firstReplayAfter < latest) {
      t.replay = { upTo: latest, last: firstReplayAfter, own: new Set(sameLog ? [...old.own].filter((s) => s > firstReplayAfter) : []) };
    }
    if (since === undefined || typeof payload.recovered !== 'boolean') return null;
    return {
      room,
      recovered: payload.recovered,
      missed: since.epoch === t.epoch ? Math.max(0, latest - since.seq) : null,
    };
  }

  _onMessage(room, msg) {
    const t = room ? this._tracks.get(room) : undefined;
    const seq = msg.seq;
    if (!t || !Number.isInteger(seq)) { this._deliver(msg); return; }
    if (t.replay && seq <= t.replay.upTo) {
      if (seq <= t.replay.last) return; // delivered before
      const ours = t.replay.own.has(seq);
      t.replay.last = seq;
      if (seq >= t.replay.upTo) t.replay = null;
      if (!ours) this._deliver(msg);
      return;
    }
    t.replay = null; // live messages come after every replay
    if (t.pos === null || (t.epoch === null && seq <= t.pos)) { // version 1: a first seq, or a room that started again
      t.pos = seq;
      this._deliver(msg);
      return;
    }
    if (seq <= t.pos || t.held.some((h) => h.seq === seq)) return; // delivered before
    if (seq === t.pos + 1 && !t.held.length) {
      t.pos = seq;
      this._advance(t);
      this._deliver(msg);
      return;
    }
    let i = t.held.length;
    while (i > 0 && t.held[i - 1].seq > seq) i--;
    t.held.splice(i, 0, msg);
    this._fillGap(room);
  }

  /** The ack of our own message: its seq is accounted for, without a `new_message`. */
  _ownSeq(room, seq) {
    const t = this._tracks.get(room);
    if (!t || !Number.isInteger(seq)) return;
    if (t.pos === null) t.pos = seq;
    else if (seq > t.pos) { t.own.add(seq); this._advance(t); }
  }

  /** Moves `pos` over our own seqs, and forgets own seqs it passed. */
  _advance(t) {
    while (t.own.delete(t.pos + 1)) t.pos++;
    for (const seq of t.own) if (seq <= t.pos) t.own.delete(seq);
  }

  /**
   * Delivers held messages that are next in line; for the first one that is not, asks
   * `history` {after} for what is missing (or reports it as a gap when it cannot be asked).
   */
  _fillGap(room) {
    const t = this._tracks.get(room);
    if (!t || t.filling) return;
    while (t.held.length) {
      this._advance(t);
      const next = t.held[0];
      if (next.seq <= t.pos + 1) {
        t.held.shift();
        if (next.seq > t.pos) { t.pos = next.seq; this._deliver(next); }
        if (this._tracks.get(room) !== t) return; // a handler left the room
        continue;
      }
      const missing = next.seq - t.pos - 1;
      if (t.epoch === null || missing > this.options.gapFillLimit || t.held.length > MAX_HELD) {
        this._reportGap(room, t, next.seq);
        continue;
      }
      if (this._sendsPending(room)) return; // the missing seq may be ours: wait for the ack
      t.filling = true;
      this._request('history', { after: t.pos, limit: Math.min(HISTORY_PAGE, missing) }, room, true, true)
        .then((reply) => this._filled(room, t, reply), () => this._filled(room, t, null));
      return;
    }
  }

  /** A gap-filling `history` reply (or null when it failed): delivers what fills the gap, reports what is gone. */
  _filled(room, t, reply) {
    if (this._tracks.get(room) !== t || !t.filling) return; // left, rejoined or reconnected since
    t.filling = false;
    const first = t.held.length ? t.held[0].seq : Infinity;
    const messages = reply && reply.payload && reply.payload.epoch === t.epoch && Array.isArray(reply.payload.messages)
      ? reply.payload.messages.filter((m) => m && Number.isInteger(m.seq) && m.seq > t.pos && m.seq < first)
        .sort((a, b) => a.seq - b.seq)
      : [];
    if (!messages.length && first !== Infinity) this._reportGap(room, t, first); // nothing more is kept before `first`
    for (const m of messages) {
      if (m.seq <= t.pos) continue;
      if (m.seq > t.pos + 1) this._reportGap(room, t, m.seq); // `after` answers the lowest kept seqs: the ones between are gone
      t.pos = m.seq;
      if (!t.own.has(m.seq)) this._deliver({ ...m, type: 'new_message', room });
      this._advance(t);
      if (this._tracks.get(room) !== t) return;
    }
    this._fillGap(room);
  }

  _reportGap(room, t, got) {
    const expected = t.pos + 1;
    t.pos = got - 1;
    this._advance(t);
    this._emit('gap', { room, expected, got });
  }

  _sendsPending(room) {
    for (const item of this._pending.values()) if (item.frame.type === 'send_message' && item.frame.room === room) return true;
    return false;
  }

  _deliver(msg) {
    this._emit('new_message', msg);
    this._emit('*', msg);
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

  /** Forgets what belonged to the socket: joins confirmed on it, held messages, a fill in flight. */
  _resetConnection() {
    this._confirmed.clear();
    this._pinging = false;
    for (const t of this._tracks.values()) { t.held = []; t.filling = false; }
  }

  _clearTimers(includingRetry) {
    clearTimeout(this._timers.connect);
    clearTimeout(this._timers.stable);
    clearInterval(this._timers.ping);
    clearTimeout(this._timers.pump);
    this._timers.pump = null;
    if (includingRetry) { clearTimeout(this._timers.retry); this._timers.retry = null; }
    for (const room of [...this._typing.keys()]) this._forgetTyping(room);
  }

  _forgetTyping(room) {
    const t = this._typing.get(room);
    if (!t) return;
    clearTimeout(t.idle);
    clearTimeout(t.cooldown);
    this._typing.delete(room);
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

/** The rejection of requests cut off by close 4003. */
function disconnectedByServer(reason) {
  return new ParleyError('DISCONNECTED_BY_SERVER', `the server disconnected this user (4003${reason ? `: ${reason}` : ''})`);
}

/** Stops a socket we abandoned from calling back into the client. */
function detach(ws) {
  ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
}

/** A Retry-After header (seconds, or an HTTP date) in whole seconds from now, or null. */
function retryAfterSeconds(value) {
  if (value === null || value === undefined || value === '') return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
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
