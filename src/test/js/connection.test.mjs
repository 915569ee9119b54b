// parley.js: connecting, backoff, close codes, heartbeat, wake-ups, reconnect() and disconnect().
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { flush, harness, outcome } from './support/harness.mjs';

const states = (h) => h.of('state').map((s) => s.state);

describe('connecting', () => {
  it('sends the token in the query, or as the bearer subprotocol', async (t) => {
    const h = harness(t);
    h.client.connect();
    assert.equal(h.socket.url, 'ws://chat.test/ws?token=tok');
    assert.equal(h.socket.protocols, undefined);

    const p = harness(t, { tokenTransport: 'protocol' });
    p.client.connect();
    assert.equal(p.socket.url, 'ws://chat.test/ws');
    assert.deepEqual(p.socket.protocols, ['bearer', 'tok']);
  });

  it('takes http(s) URLs and paths, and refuses a malformed URL at once', async (t) => {
    const h = harness(t);
    for (const [given, used] of [['http://chat.test/ws', 'ws://chat.test/ws?token=tok'],
      ['https://chat.test:8443/ws', 'wss://chat.test:8443/ws?token=tok']]) {
      h.client.url = given;
      h.client.connect();
      assert.equal(h.socket.url, used);
      h.client.disconnect();
    }
    globalThis.location = { href: 'https://chat.test/rooms/general' };
    t.after(() => { delete globalThis.location; });
    h.client.url = undefined;
    h.client.connect();
    assert.equal(h.socket.url, 'wss://chat.test/ws?token=tok', 'default: /ws on the page\'s host');
    h.client.disconnect();
    h.client.url = 'http://';
    assert.throws(() => h.client.connect(), TypeError);
  });

  it('goes connecting, then open, and knows its user and node from `connected`', async (t) => {
    const h = harness(t);
    h.client.connect();
    assert.equal(h.client.state, 'connecting');
    h.socket.accept({ id: 'u1', name: 'Ann' }, 'node-7');
    assert.deepEqual(states(h), ['connecting', 'open']);
    assert.deepEqual(h.client.user, { id: 'u1', name: 'Ann' });
    assert.equal(h.client.node, 'node-7');
    assert.equal(h.client.session.connection_id, 'c1');
    h.client.connect();
    assert.equal(h.sockets.length, 1, 'connect() while connected does nothing');
  });

  it('asks an async supplier for a token before every attempt', async (t) => {
    const calls = [];
    const h = harness(t, {}, async (info) => { calls.push(info); return `tok-${calls.length}`; });
    h.client.connect();
    await flush();
    assert.equal(h.socket.url, 'ws://chat.test/ws?token=tok-1');
    h.socket.end();
    await h.tick(500);
    await flush();
    assert.equal(h.socket.url, 'ws://chat.test/ws?token=tok-2');
    assert.deepEqual(calls, [{ expired: false, attempt: 0 }, { expired: false, attempt: 1 }]);
  });

  it('counts a failing token supplier as a failed attempt, without a close event', async (t) => {
    let fail = true;
    const h = harness(t, {}, async () => { if (fail) throw new Error('no token today'); return 'tok'; });
    h.client.connect();
    await flush();
    const [retry] = h.of('state').filter((s) => s.state === 'reconnecting');
    assert.equal(retry.error.message, 'no token today');
    assert.equal(h.of('close').length, 0);
    assert.equal(h.sockets.length, 0);
    fail = false;
    await h.tick(retry.delay);
    await flush();
    assert.equal(h.sockets.length, 1);
  });

  it('gives up on a socket that does not open within connectTimeout', async (t) => {
    const h = harness(t, { connectTimeout: 3000 });
    h.client.connect();
    const first = h.socket;
    await h.tick(2999);
    assert.equal(first.closedByClient, null);
    await h.tick(1);
    assert.equal(first.closedByClient.reason, 'connect timeout');
    assert.deepEqual(h.of('close').map((c) => [c.code, c.willReconnect]), [[1006, true]]);
    assert.equal(h.client.state, 'reconnecting');
    first.end(4000); // the abandoned socket's own close comes later: ignored
    assert.equal(h.of('close').length, 1);
  });

  it('ignores frames and closes of a socket it has replaced', async (t) => {
    const h = harness(t);
    h.client.connect();
    const old = h.socket;
    old.accept();
    h.client.reconnect();
    const seen = [];
    h.client.on('*', (f) => seen.push(f.type));
    old.receive({ type: 'pong' });
    old.end(1000);
    assert.deepEqual(seen, []);
    assert.equal(h.of('close').length, 1);
  });
});

describe('backoff', () => {
  it('waits random(0, min(cap, base * 2^attempt)): 5 s at most by default', async (t) => {
    const h = harness(t);
    t.mock.method(Math, 'random', () => 0.9999);
    h.client.connect();
    const delays = [];
    for (let i = 0; i < 7; i++) {
      h.socket.end();
      const retry = h.of('state').at(-1);
      assert.equal(retry.state, 'reconnecting');
      assert.equal(retry.attempt, i + 1);
      delays.push(retry.delay);
      const before = h.sockets.length;
      await h.tick(retry.delay - 1);
      assert.equal(h.sockets.length, before, 'not before its delay');
      await h.tick(1);
      assert.equal(h.sockets.length, before + 1, 'at its delay');
    }
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 5000, 5000, 5000]);
  });

  it('spreads attempts over the whole window (full jitter)', async (t) => {
    const h = harness(t, { backoffBase: 1000, backoffCap: 1000 });
    const draws = [0, 0.25, 0.5];
    t.mock.method(Math, 'random', () => draws.shift());
    h.client.connect();
    for (let i = 0; i < 3; i++) {
      h.socket.end();
      await h.tick(h.of('state').at(-1).delay);
    }
    assert.deepEqual(h.of('state').filter((s) => s.state === 'reconnecting').map((s) => s.delay), [0, 250, 500]);
  });

  it('starts from the first window again once a connection stayed open stableAfter ms', async (t) => {
    const h = harness(t, { stableAfter: 5000 });
    t.mock.method(Math, 'random', () => 0.9999);
    h.client.connect();
    for (let i = 0; i < 3; i++) { h.socket.end(); await h.tick(5000); }
    h.socket.accept();
    await h.tick(4999);
    h.socket.end(1001);
    assert.equal(h.of('state').at(-1).delay, 4000, 'open 4999 ms: not stable yet');
    await h.tick(5000);
    h.socket.accept();
    await h.tick(5000);
    h.socket.end(1001);
    const retry = h.of('state').at(-1);
    assert.deepEqual([retry.attempt, retry.delay], [1, 500]);
  });

  for (const code of [1003, 1008, 1009]) {
    it(`waits penaltyDelay on top of the backoff after close ${code}: the page misbehaved`, async (t) => {
      const h = harness(t);
      t.mock.method(Math, 'random', () => 0);
      h.client.connect();
      h.socket.accept();
      h.socket.end(code);
      const retry = h.of('state').at(-1);
      assert.deepEqual([retry.state, retry.code, retry.delay], ['reconnecting', code, 5000]);
      await h.tick(4999);
      assert.equal(h.sockets.length, 1);
      await h.tick(1);
      assert.equal(h.sockets.length, 2);
    });
  }

  it('needs no penalty after an ordinary close', async (t) => {
    const h = harness(t);
    t.mock.method(Math, 'random', () => 0);
    h.client.connect();
    h.socket.accept();
    h.socket.end(1001);
    assert.equal(h.of('state').at(-1).delay, 0);
  });

  it('stops after maxRetries failed attempts in a row', async (t) => {
    const h = harness(t, { maxRetries: 2 });
    h.client.connect();
    h.socket.end();
    await h.tick(5000);
    h.socket.end();
    await h.tick(5000);
    h.socket.end();
    assert.deepEqual(h.of('close').map((c) => c.willReconnect), [true, true, false]);
    assert.deepEqual(states(h), ['connecting', 'reconnecting', 'reconnecting', 'closed']);
    await h.tick(60000);
    assert.equal(h.sockets.length, 3);
  });

  it('does not reconnect with reconnect: false', async (t) => {
    const h = harness(t, { reconnect: false });
    h.client.connect();
    h.socket.accept();
    h.socket.end(1001);
    assert.equal(h.client.state, 'closed');
    assert.equal(h.of('close')[0].willReconnect, false);
  });
});

describe('close codes that change the plan', () => {
  it('4001 (token expired) asks the supplier for a new token, once', async (t) => {
    const calls = [];
    const h = harness(t, {}, (info) => { calls.push(info.expired); return 'tok'; });
    h.client.connect();
    await flush();
    h.socket.accept();
    h.socket.end(4001, 'token expired');
    assert.deepEqual(h.of('close').map((c) => [c.code, c.willReconnect]), [[4001, true]]);
    await h.tick(5000);
    await flush();
    h.socket.end();
    await h.tick(5000);
    await flush();
    assert.deepEqual(calls, [false, true, false]);
  });

  it('4001 with a fixed token string stops: the same token cannot work again', async (t) => {
    const h = harness(t);
    h.client.connect();
    h.socket.accept();
    h.client.sendMessage('r', 'pending');
    h.socket.end(4001, 'token expired');
    assert.deepEqual(h.of('close').map((c) => [c.code, c.willReconnect]), [[4001, false]]);
    assert.deepEqual(h.of('state').at(-1), { state: 'closed', code: 4001, reason: 'token expired', error: undefined });
    const later = await outcome(h.client.sendMessage('r', 'later'));
    assert.equal(later.error.code, 'DISCONNECTED');
    await h.tick(60000);
    assert.equal(h.sockets.length, 1);
  });

  it('4003 (disconnected by the server API) never reconnects, and fails what waits with DISCONNECTED_BY_SERVER', async (t) => {
    const h = harness(t, {}, () => 'tok');
    h.client.connect();
    await flush();
    h.socket.accept();
    const sent = h.client.sendMessage('r', 'in flight');
    const stateEvents = h.of('state').length;
    h.socket.end(4003, 'banned for spam');
    assert.deepEqual(h.of('close'), [{ code: 4003, reason: 'banned for spam', wasClean: true, willReconnect: false }]);
    assert.deepEqual(h.of('state').slice(stateEvents), [{ state: 'closed', code: 4003, reason: 'banned for spam', error: undefined }]);
    const failed = await outcome(sent);
    assert.equal(failed.error.code, 'DISCONNECTED_BY_SERVER');
    assert.equal(failed.error.retriable, false);
    assert.match(failed.error.message, /banned for spam/);
    assert.equal((await outcome(h.client.ping())).error.code, 'DISCONNECTED');
    await h.tick(60000);
    assert.equal(h.sockets.length, 1);
    h.client.connect(); // the application may decide to come back
    await flush();
    assert.equal(h.sockets.length, 2);
  });

  it('4003 fails requests queued before the socket opened with DISCONNECTED_BY_SERVER too', async (t) => {
    const h = harness(t);
    h.client.connect();
    h.socket.accept();
    h.socket.end(1001);
    const queued = h.client.sendMessage('r', 'queued');
    await h.tick(5000);
    h.socket.readyState = 1; // open, but closed with 4003 before any frame
    h.socket.end(4003, 'bye');
    assert.equal((await outcome(queued)).error.code, 'DISCONNECTED_BY_SERVER');
  });
});

describe('heartbeat', () => {
  it('pings every pingInterval; a pong keeps the connection', async (t) => {
    const h = harness(t, { pingInterval: 25000, requestTimeout: 10000 });
    h.client.connect();
    h.socket.accept();
    await h.tick(25000);
    h.socket.reply('ping', 'pong');
    await h.tick(25000);
    assert.equal(h.socket.frames('ping').length, 2);
    assert.equal(h.socket.closedByClient, null);
    assert.equal(h.client.state, 'open');
  });

  it('drops a connection whose pong does not come within requestTimeout (TIMEOUT), and reconnects', async (t) => {
    const h = harness(t, { pingInterval: 25000, requestTimeout: 10000 });
    h.client.connect();
    h.socket.accept();
    const stuck = h.socket;
    await h.tick(25000);
    await h.tick(9999);
    assert.equal(stuck.closedByClient, null);
    await h.tick(1);
    assert.deepEqual(stuck.closedByClient, { code: 4000, reason: 'heartbeat timeout' });
    assert.deepEqual(h.of('close').map((c) => [c.code, c.reason, c.willReconnect]), [[1006, 'heartbeat timeout', true]]);
    await h.tick(h.of('state').at(-1).delay);
    assert.equal(h.sockets.length, 2);
  });

  it('sends no heartbeat with pingInterval 0', async (t) => {
    const h = harness(t, { pingInterval: 0 });
    h.client.connect();
    h.socket.accept();
    await h.tick(600000);
    assert.equal(h.socket.frames('ping').length, 0);
  });
});

describe('wake-ups: online, visible, reconnect()', () => {
  /** A window and document for the client to listen on. */
  function browserEvents(t) {
    const win = new EventTarget();
    const doc = new EventTarget();
    doc.visibilityState = 'hidden';
    Object.assign(globalThis, {
      addEventListener: win.addEventListener.bind(win), removeEventListener: win.removeEventListener.bind(win), document: doc,
    });
    t.after(() => { delete globalThis.addEventListener; delete globalThis.removeEventListener; delete globalThis.document; });
    return {
      online: () => win.dispatchEvent(new Event('online')),
      visible: (state = 'visible') => { doc.visibilityState = state; doc.dispatchEvent(new Event('visibilitychange')); },
    };
  }

  /** A client waiting long for its next attempt (the window is 1 hour). */
  function waiting(t) {
    const browser = browserEvents(t);
    const h = harness(t, { backoffBase: 3600000, backoffCap: 3600000 });
    t.mock.method(Math, 'random', () => 0.5);
    h.client.connect();
    h.socket.accept();
    h.socket.end(1001);
    assert.equal(h.of('state').at(-1).delay, 1800000);
    return { h, browser };
  }

  it('attempts at once when the browser comes back online', async (t) => {
    const { h, browser } = waiting(t);
    browser.online();
    assert.equal(h.sockets.length, 2);
    await h.tick(1800000);
    assert.equal(h.sockets.length, 2, 'the scheduled attempt was replaced, not added');
  });

  it('attempts at once when the tab becomes visible, not when it is hidden', async (t) => {
    const { h, browser } = waiting(t);
    browser.visible('hidden');
    assert.equal(h.sockets.length, 1);
    browser.visible('visible');
    assert.equal(h.sockets.length, 2);
  });

  it('checks an open connection with a ping when the tab becomes visible', async (t) => {
    const browser = browserEvents(t);
    const h = harness(t, { requestTimeout: 10000 });
    h.client.connect();
    h.socket.accept();
    browser.visible();
    browser.visible();
    assert.equal(h.socket.frames('ping').length, 1, 'one check at a time');
    await h.tick(10000);
    assert.equal(h.socket.closedByClient.reason, 'heartbeat timeout');
  });

  it('does not cut a penalty wait short', async (t) => {
    const browser = browserEvents(t);
    const h = harness(t);
    h.client.connect();
    h.socket.accept();
    h.socket.end(1008);
    browser.online();
    browser.visible();
    assert.equal(h.sockets.length, 1);
  });

  it('stops listening after disconnect()', async (t) => {
    const { h, browser } = waiting(t);
    h.client.disconnect();
    browser.online();
    browser.visible();
    assert.equal(h.sockets.length, 1);
  });

  it('reconnect() attempts at once while waiting, and replaces an open socket at once', async (t) => {
    const { h } = waiting(t);
    h.client.reconnect();
    assert.equal(h.sockets.length, 2);
    h.socket.accept();
    const open = h.socket;
    h.client.reconnect();
    assert.equal(open.closedByClient.reason, 'reconnect() called');
    assert.equal(h.sockets.length, 3);
    h.socket.accept();
    assert.equal(h.client.state, 'open');
  });
});

describe('disconnect()', () => {
  it('closes with 1000, rejects what waits with DISCONNECTED, and never reconnects', async (t) => {
    const h = harness(t);
    h.client.connect();
    h.socket.accept();
    const sent = h.client.ping();
    h.socket.readyState = 0; // pretend the socket stalls: the next request is queued
    const queued = h.client.sendMessage('r', 'queued');
    h.socket.readyState = 1;
    h.client.disconnect();
    assert.deepEqual(h.sockets[0].closedByClient, { code: 1000, reason: 'Client disconnecting' });
    assert.deepEqual(h.of('close'), [{ code: 1000, reason: 'Client disconnecting', wasClean: true, willReconnect: false, deliberate: true }]);
    assert.equal(h.client.state, 'closed');
    assert.equal((await outcome(sent)).error.code, 'DISCONNECTED');
    assert.equal((await outcome(queued)).error.code, 'DISCONNECTED');
    assert.equal((await outcome(h.client.ping())).error.code, 'DISCONNECTED');
    await h.tick(60000);
    assert.equal(h.sockets.length, 1);
  });

  it('cancels a scheduled attempt', async (t) => {
    const h = harness(t);
    h.client.connect();
    h.socket.end();
    h.client.disconnect();
    await h.tick(60000);
    assert.equal(h.sockets.length, 1);
    assert.equal(h.of('close').at(-1).deliberate, true);
  });

  it('keeps the rooms, so connect() rejoins them', async (t) => {
    const h = harness(t);
    h.client.connect();
    h.socket.accept();
    h.client.joinRoom('general');
    h.socket.reply('join_room', 'room_info', { payload: { room_id: 'general', users: [], count: 0 } });
    h.client.disconnect();
    assert.deepEqual(h.client.rooms, ['general']);
    h.client.connect();
    h.socket.accept();
    assert.equal(h.socket.last('join_room').payload.room_id, 'general');
  });

  it('can be called from a close handler', async (t) => {
    const h = harness(t);
    h.client.on('close', (e) => { if (!e.deliberate) h.client.disconnect(); });
    h.client.connect();
    h.socket.accept();
    h.socket.end(1001);
    await h.tick(60000);
    assert.equal(h.sockets.length, 1);
    assert.equal(h.client.state, 'closed');
  });
});
