// parley.js: the pre-check (POST /ws/check) after repeated failures before open, and Retry-After.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeFetch, flush, harness, outcome } from './support/harness.mjs';

/** A client with the pre-check on (checkAfter 2) and a fake fetch. */
function checked(t, options = {}, token = 'tok') {
  const server = fakeFetch();
  const h = harness(t, { checkAfter: 2, fetch: server.fetch, ...options }, token);
  /** An attempt fails before open (as a refused upgrade does). */
  const fail = async () => {
    h.socket.end();
    await flush();
  };
  /** Waits out the scheduled attempt; the client then opens a new socket. */
  const next = () => h.tick(h.of('state').at(-1).delay);
  /** Two attempts in a row fail before open: the pre-check is asked. */
  const failTwice = async () => {
    await fail();
    await next();
    await fail();
  };
  return { h, server, fail, next, failTwice };
}

describe('the pre-check', () => {
  it('asks after the second failure in a row, with the token, and reports the refusal', async (t) => {
    const { h, server, fail, next } = checked(t);
    server.respond(403, { error: 'origin not allowed', reason: 'origin_not_allowed' });
    h.client.connect();
    await fail();
    assert.equal(server.calls.length, 0, 'one failure is no pattern');
    await next();
    await fail();
    assert.equal(server.calls.length, 1);
    const [{ url, init }] = server.calls;
    assert.equal(url, 'http://chat.test/ws/check');
    assert.equal(init.method, 'POST');
    assert.deepEqual(init.headers, { Authorization: 'Bearer tok' });
    const refusal = { status: 403, reason: 'origin_not_allowed', detail: null, retryAfter: null };
    assert.deepEqual(h.of('refused'), [refusal]);
    const retry = h.of('state').at(-1);
    assert.equal(retry.state, 'reconnecting', 'it keeps trying: the allow-list may change');
    assert.deepEqual(retry.refused, refusal);
    await next();
    await fail();
    assert.equal(server.calls.length, 2, 'and asks again while it fails');
  });

  it('does not ask after failures of connections that had opened', async (t) => {
    const { h, server, next } = checked(t);
    server.respond(503, { reason: 'unavailable' });
    h.client.connect();
    for (let i = 0; i < 3; i++) {
      h.socket.accept();
      h.socket.end(1001);
      await flush();
      await next();
    }
    assert.equal(server.calls.length, 0);
  });

  it('uses https for wss, and a configured checkUrl', async (t) => {
    const a = checked(t);
    a.h.client.url = 'wss://chat.test:8443/parley/ws?x=1';
    a.server.respond(200, { ok: true });
    a.h.client.connect();
    await a.failTwice();
    assert.equal(a.server.calls[0].url, 'https://chat.test:8443/parley/ws/check');

    const b = checked(t, { checkUrl: 'https://auth.test/precheck' });
    b.server.respond(200, { ok: true });
    b.h.client.connect();
    await b.failTwice();
    assert.equal(b.server.calls[0].url, 'https://auth.test/precheck');
  });

  it('is never asked with checkAfter 0 or checkUrl null', async (t) => {
    for (const options of [{ checkAfter: 0 }, { checkUrl: null }]) {
      const { h, server, fail, next } = checked(t, options);
      server.respond(403, { reason: 'origin_not_allowed' });
      h.client.connect();
      for (let i = 0; i < 3; i++) { await fail(); await next(); }
      assert.equal(server.calls.length, 0, JSON.stringify(options));
    }
  });

  for (const [what, answer] of [
    ['lets us in (200)', (s) => s.respond(200, { ok: true, user: { id: 'u1', name: 'Ann' } })],
    ['is not a Parley pre-check (404 page)', (s) => s.respond(404, '<html>not found</html>')],
    ['is JSON without a reason', (s) => s.respond(400, { error: 'bad request' })],
    ['cannot be reached', (s) => s.fail()],
  ]) {
    it(`reports nothing when it ${what}, and the backoff goes on`, async (t) => {
      const { h, server, next, failTwice } = checked(t);
      answer(server);
      h.client.connect();
      await failTwice();
      assert.equal(server.calls.length, 1);
      assert.deepEqual(h.of('refused'), []);
      assert.equal(h.of('state').at(-1).state, 'reconnecting');
      await next();
      assert.equal(h.sockets.length, 3);
    });
  }

  it('gives up on a check that hangs after checkTimeout, and goes on', async (t) => {
    const { h, server, failTwice } = checked(t, { checkTimeout: 5000 });
    server.hang();
    h.client.connect();
    await failTwice();
    const states = h.of('state').length;
    await h.tick(4999);
    assert.equal(h.of('state').length, states, 'waiting for the check');
    assert.equal(server.calls[0].init.signal.aborted, false);
    await h.tick(1);
    assert.equal(server.calls[0].init.signal.aborted, true);
    assert.equal(h.of('state').at(-1).state, 'reconnecting');
    assert.equal(h.of('state').length, states + 1);
    assert.deepEqual(h.of('refused'), []);
  });

  it('yields to reconnect() while it runs: one attempt, not two', async (t) => {
    const { h, server, failTwice } = checked(t);
    const answer = server.later();
    h.client.connect();
    await failTwice();
    assert.equal(server.calls.length, 1);
    h.client.reconnect();
    assert.equal(h.sockets.length, 3);
    answer(403, { reason: 'origin_not_allowed' });
    await flush();
    assert.deepEqual(h.of('refused'), [], 'a stale answer');
    h.socket.accept();
    await h.tick(10000); // past any backoff
    assert.equal(h.sockets.length, 3);
    assert.equal(h.client.state, 'open');
  });
});

describe('token_rejected', () => {
  it('asks the supplier for a new token (expired: true)', async (t) => {
    const calls = [];
    const { h, server, next, failTwice } = checked(t, {}, (info) => { calls.push(info.expired); return `tok-${calls.length}`; });
    server.respond(401, { error: 'authentication required', reason: 'token_rejected', detail: 'expired' });
    h.client.connect();
    await flush();
    await failTwice();
    assert.deepEqual(h.of('refused'), [{ status: 401, reason: 'token_rejected', detail: 'expired', retryAfter: null }]);
    assert.deepEqual(server.calls[0].init.headers, { Authorization: 'Bearer tok-2' }, 'the token of the failed attempt');
    await next();
    assert.deepEqual(calls, [false, false, true]);
    assert.equal(h.socket.url, 'ws://chat.test/ws?token=tok-3');
  });

  it('stops a client with a fixed token string: it cannot get another', async (t) => {
    const { h, server, failTwice } = checked(t);
    server.respond(401, { reason: 'token_rejected', detail: 'bad signature' });
    h.client.connect();
    const queued = h.client.sendMessage('r', 'never sent');
    await failTwice();
    const closed = h.of('state').at(-1);
    assert.equal(closed.state, 'closed');
    assert.deepEqual(closed.refused, { status: 401, reason: 'token_rejected', detail: 'bad signature', retryAfter: null });
    assert.equal((await outcome(queued)).error.code, 'DISCONNECTED');
    await h.tick(60000);
    assert.equal(h.sockets.length, 2);
  });
});

describe('Retry-After', () => {
  it('delays the next attempt by at least Retry-After seconds, plus jitter', async (t) => {
    const { h, server, failTwice } = checked(t);
    t.mock.method(Math, 'random', () => 0.5);
    server.respond(503, { error: 'unavailable', reason: 'unavailable' }, { 'retry-after': '30' });
    h.client.connect();
    await failTwice();
    assert.deepEqual(h.of('refused'), [{ status: 503, reason: 'unavailable', detail: null, retryAfter: 30 }]);
    const retry = h.of('state').at(-1);
    assert.equal(retry.delay, 30000 + 500, '30 s, plus half of the second window (1000 ms)');
    await h.tick(30499);
    assert.equal(h.sockets.length, 2);
    await h.tick(1);
    assert.equal(h.sockets.length, 3);
  });

  it('reads an HTTP date too, and a 503 without a reason is "unavailable"', async (t) => {
    const { h, server, failTwice } = checked(t);
    t.mock.method(Math, 'random', () => 0);
    server.respond(503, 'Service Unavailable', { 'Retry-After': new Date(Date.now() + 60000).toUTCString() });
    h.client.connect();
    await failTwice();
    assert.deepEqual(h.of('refused').map((r) => [r.status, r.reason, r.retryAfter]), [[503, 'unavailable', 60]]);
    assert.equal(h.of('state').at(-1).delay, 60000);
  });

  it('is not cut short by the browser coming online, but is by reconnect()', async (t) => {
    const win = new EventTarget();
    Object.assign(globalThis, { addEventListener: win.addEventListener.bind(win), removeEventListener: win.removeEventListener.bind(win) });
    t.after(() => { delete globalThis.addEventListener; delete globalThis.removeEventListener; });
    const { h, server, failTwice } = checked(t);
    server.respond(503, { reason: 'unavailable' }, { 'Retry-After': '120' });
    h.client.connect();
    await failTwice();
    win.dispatchEvent(new Event('online'));
    assert.equal(h.sockets.length, 2);
    h.client.reconnect();
    assert.equal(h.sockets.length, 3, 'a person asked: retry now');
  });
});
