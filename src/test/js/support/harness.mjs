// A fake WebSocket, a fake fetch and fake time for the parley.js tests: the test plays the server.
import assert from 'node:assert/strict';
import { ParleyClient } from './parley.mjs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 11)) {
  throw new Error(`the parley.js tests need Node.js 20.11 or newer (node:test's fake timers), not ${process.version}`);
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** A WebSocket whose other end is the test: it opens, sends frames and closes when told to. */
export class FakeSocket {
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = CONNECTING;
    this.sent = [];
    /** {code, reason} when the client closed it */
    this.closedByClient = null;
  }

  send(text) {
    if (this.readyState !== OPEN) throw new Error(`send() in readyState ${this.readyState}`);
    this.sent.push(text);
  }

  close(code, reason) {
    this.closedByClient = { code, reason };
    this.readyState = CLOSING;
  }

  // ---- the server's side ----

  /** Opens the socket and sends `connected`, as the server does first. */
  accept(user = { id: 'u1', name: 'Ann' }, node = 'node-1') {
    this.readyState = OPEN;
    if (this.onopen) this.onopen({});
    this.receive({ type: 'connected', payload: { connection_id: 'c1', user, node } });
  }

  receive(frame) {
    if (this.onmessage) this.onmessage({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }

  /** The connection ends: a refused or failed upgrade is 1006 before open, as browsers report it. */
  end(code = 1006, reason = '') {
    this.readyState = CLOSED;
    if (this.onclose) this.onclose({ code, reason, wasClean: code !== 1006 });
  }

  /** The frames the client sent, parsed. */
  frames(type) {
    const all = this.sent.map((text) => JSON.parse(text));
    return type ? all.filter((f) => f.type === type) : all;
  }

  /** The last frame of this type that the client sent. */
  last(type) {
    const all = this.frames(type);
    assert.ok(all.length, `the client sent no ${type}; it sent ${this.sent.join(' ')}`);
    return all[all.length - 1];
  }

  /** Answers the last request of this type: `{type: replyType, id, room, ...extra}`. */
  reply(requestType, replyType, extra = {}) {
    const request = this.last(requestType);
    this.receive({ type: replyType, id: request.id, room: request.room || request.payload?.room_id, ...extra });
    return request;
  }
}

/** Lets promise callbacks (an async token supplier, a fetch) run; fake time does not move. */
export async function flush() {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A fetch whose answer the test gives: `respond(status, body, headers)`, or `fail()`. */
export function fakeFetch() {
  const calls = [];
  let answer = () => new Promise(() => {});
  const response = (status, body, headers = {}) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return {
      ok: status >= 200 && status < 300,
      status,
      headers: { get: (name) => headers[Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase())] ?? null },
      json: async () => JSON.parse(text),
    };
  };
  return {
    fetch: (url, init) => {
      calls.push({ url, init });
      const aborted = new Promise((resolve, reject) => {
        init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
      return Promise.race([answer(), aborted]);
    },
    calls,
    respond(status, body, headers) { answer = () => Promise.resolve(response(status, body, headers)); },
    fail() { answer = () => Promise.reject(new TypeError('Failed to fetch')); },
    hang() { answer = () => new Promise(() => {}); },
    /** The next calls wait; the returned function answers them. */
    later() {
      let settle;
      const answered = new Promise((resolve) => { settle = resolve; });
      answer = () => answered;
      return (status, body, headers) => settle(response(status, body, headers));
    },
  };
}

const clocks = new WeakMap();

/**
 * node:test's fake setTimeout and setInterval, driven like a browser's event loop: `tick(ms)`
 * fires each timer at its due time, in order, with promise callbacks run after each (a bare
 * mock.timers.tick() would put a timer set by another timer's callback after the whole tick).
 * The library reads no clock, so Date stays real.
 */
function fakeClock(t) {
  if (clocks.has(t)) return clocks.get(t);
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const clock = { now: 0, due: [] };
  const { setTimeout: mockedTimeout, setInterval: mockedInterval } = globalThis;
  globalThis.setTimeout = (fn, ms = 0, ...args) => {
    clock.due.push(clock.now + ms);
    return mockedTimeout(fn, ms, ...args);
  };
  globalThis.setInterval = (fn, ms, ...args) => {
    let next = clock.now + ms;
    clock.due.push(next);
    return mockedInterval((...a) => { next += ms; clock.due.push(next); fn(...a); }, ms, ...args);
  };
  clock.tick = async (ms) => {
    await flush();
    const end = clock.now + ms;
    for (;;) {
      clock.due = clock.due.filter((d) => d >= clock.now).sort((a, b) => a - b);
      if (!clock.due.length || clock.due[0] > end) break;
      const step = clock.due.shift() - clock.now;
      clock.now += step; // before the timers run: those they set are due from here
      t.mock.timers.tick(step);
      await flush();
    }
    const rest = end - clock.now;
    clock.now = end;
    t.mock.timers.tick(rest);
    await flush();
  };
  clocks.set(t, clock);
  return clock;
}

/**
 * A client on fake sockets and fake timers. `events` records
 * what it emits; `socket` is the newest socket.
 */
export function harness(t, options = {}, token = 'tok') {
  const clock = fakeClock(t);
  const sockets = [];
  class WebSocket extends FakeSocket {
    constructor(url, protocols) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  // The pre-check is off unless a test turns it on with a fake fetch: nothing reaches the network.
  const noFetch = () => { throw new Error('fetch() called without a fake'); };
  const client = new ParleyClient('ws://chat.test/ws', token, { WebSocket, logger: null, checkAfter: 0, fetch: noFetch, ...options });
  const events = [];
  for (const type of ['state', 'close', 'refused', 'recovered', 'gap', 'rejoin_failed', 'new_message']) {
    client.on(type, (e) => events.push({ event: type, ...e }));
  }
  return {
    client,
    sockets,
    events,
    get socket() { return sockets[sockets.length - 1]; },
    /** Events of one type, without the `event` key. */
    of(type) { return events.filter((e) => e.event === type).map(({ event, ...rest }) => rest); },
    /** Moves fake time on by `ms`, firing the timers due meanwhile. */
    tick: clock.tick,
    /** Contents of the delivered messages, in order. */
    delivered() { return this.of('new_message').map((m) => m.payload.content); },
  };
}

/** How a promise stands once pending callbacks ran: 'pending', {value} or {error}. */
export async function outcome(promise) {
  let result = 'pending';
  promise.then((value) => { result = { value }; }, (error) => { result = { error }; });
  await flush();
  return result;
}

/** A new_message frame of room `room` with this seq. */
export function message(room, seq, content = `m${seq}`, sender = { id: 'u2', name: 'Ben' }) {
  return { type: 'new_message', room, id: `msg-${seq}`, seq, sender, payload: { content }, timestamp: '2026-01-01T00:00:00.000Z' };
}
