// parley.js: requests and replies, the queue, the flush rate, rejoins, typing, payloads, events.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { harness, outcome } from './support/harness.mjs';
import defaultExport, { ParleyClient, ParleyError, WebSocketClient } from './support/parley.mjs';

/** A client with an open connection. */
function connected(t, options) {
  const h = harness(t, options);
  h.client.connect();
  h.socket.accept();
  return h;
}

const roomInfo = (room, extra = {}) => ({ payload: { room_id: room, users: [], count: 0, ...extra } });

describe('requests', () => {
  it('resolve with their reply, matched by id', async (t) => {
    const h = connected(t);
    const joined = h.client.joinRoom('general');
    const sent = h.client.sendMessage('general', 'Hello!', { replyTo: 'msg-1' });
    const online = h.client.onlineUsers('general');
    const pong = h.client.ping();
    const [join, send, users, ping] = h.socket.frames();
    assert.deepEqual(join, { type: 'join_room', payload: { room_id: 'general' }, id: join.id });
    assert.deepEqual(send, { type: 'send_message', room: 'general', payload: { content: 'Hello!', reply_to: 'msg-1' }, id: send.id });
    assert.deepEqual(users, { type: 'online_users', room: 'general', payload: { room_id: 'general' }, id: users.id });
    assert.deepEqual(ping, { type: 'ping', id: ping.id });
    assert.equal(new Set([join.id, send.id, users.id, ping.id]).size, 4);
    // answered out of order
    h.socket.receive({ type: 'pong', id: ping.id });
    h.socket.receive({ type: 'ack', id: send.id, room: 'general', payload: { message_id: 'm-1', seq: 1 } });
    h.socket.receive({ type: 'online_users', id: users.id, room: 'general', payload: { room_id: 'general', users: [], count: 1 } });
    h.socket.receive({ type: 'room_info', id: join.id, room: 'general', payload: { room_id: 'general', users: [], count: 1 } });
    assert.equal((await outcome(joined)).value.type, 'room_info');
    assert.deepEqual((await outcome(sent)).value.payload, { message_id: 'm-1', seq: 1 });
    assert.equal((await outcome(online)).value.payload.count, 1);
    assert.equal((await outcome(pong)).value.type, 'pong');
  });

  it('reject with the server\'s error code and frame; retriable when trying later may work', async (t) => {
    const h = connected(t);
    const cases = [['NOT_IN_ROOM', false], ['RATE_LIMITED', true], ['UNAVAILABLE', true], ['INTERNAL', true], ['INVALID_PAYLOAD', false]];
    for (const [code, retriable] of cases) {
      const sent = h.client.sendMessage('r', 'x');
      h.socket.reply('send_message', 'error', { payload: { code, message: `says ${code}` } });
      const { error } = await outcome(sent);
      assert.ok(error instanceof ParleyError);
      assert.deepEqual([error.name, error.code, error.message, error.retriable, error.frame.type], ['ParleyError', code, `says ${code}`, retriable, 'error']);
    }
  });

  it('resolve true once written when the server does not answer that type', async (t) => {
    const h = connected(t);
    assert.deepEqual(await outcome(h.client.send('custom_signal', { a: 1 }, 'r')), { value: true });
    assert.deepEqual(h.socket.last('custom_signal'), { type: 'custom_signal', room: 'r', payload: { a: 1 } });
  });

  it('time out with TIMEOUT (retriable) after requestTimeout', async (t) => {
    const h = connected(t, { requestTimeout: 10000 });
    const sent = h.client.sendMessage('r', 'x');
    await h.tick(9999);
    assert.equal(await outcome(sent), 'pending');
    await h.tick(1);
    const { error } = await outcome(sent);
    assert.deepEqual([error.code, error.retriable], ['TIMEOUT', true]);
    h.socket.reply('send_message', 'ack', { payload: { seq: 1 } }); // too late: ignored
  });

  it('bigger than maxFrameBytes are refused locally with FRAME_TOO_LARGE, and the connection stays', async (t) => {
    const h = connected(t, { maxFrameBytes: 4096 });
    const { error } = await outcome(h.client.sendMessage('r', 'é'.repeat(2100))); // 4200 bytes of UTF-8
    assert.deepEqual([error.code, error.frame], ['FRAME_TOO_LARGE', null]);
    assert.equal(h.socket.frames().length, 0);
    assert.equal(h.client.state, 'open');
  });

  it('sent but unanswered when the connection drops fail with CONNECTION_LOST and are not sent again', async (t) => {
    const h = connected(t);
    const sent = h.client.sendMessage('r', 'maybe handled');
    h.socket.end(1001);
    const { error } = await outcome(sent);
    assert.deepEqual([error.code, error.retriable], ['CONNECTION_LOST', true]);
    await h.tick(5000);
    h.socket.accept();
    assert.deepEqual(h.socket.frames('send_message'), []);
  });
});

describe('the queue', () => {
  it('keeps requests made before open and sends them in order once open', async (t) => {
    const h = harness(t);
    h.client.connect();
    const joined = h.client.joinRoom('general');
    h.client.sendMessage('general', 'one');
    h.client.sendMessage('general', 'two');
    assert.equal(h.client.queued, 3);
    h.socket.accept();
    assert.deepEqual(h.socket.frames().map((f) => f.payload.content ?? f.type), ['join_room', 'one', 'two']);
    assert.equal(h.client.queued, 0);
    h.socket.reply('join_room', 'room_info', roomInfo('general'));
    assert.equal((await outcome(joined)).value.type, 'room_info');
  });

  it('keeps them across a lost connection, and sends them after the rejoins', async (t) => {
    const h = connected(t);
    h.client.joinRoom('a');
    h.socket.reply('join_room', 'room_info', roomInfo('a'));
    h.socket.end(1001);
    h.client.sendMessage('a', 'written while away');
    h.client.joinRoom('b');
    await h.tick(5000);
    h.socket.accept();
    assert.deepEqual(h.socket.frames().map((f) => f.payload.content ?? `${f.type} ${f.payload.room_id}`),
      ['join_room a', 'written while away', 'join_room b']);
  });

  it('is bounded: past maxQueue a request fails with QUEUE_FULL, and rejoins do not count', async (t) => {
    const h = connected(t, { maxQueue: 2 });
    h.client.joinRoom('a');
    h.socket.reply('join_room', 'room_info', roomInfo('a'));
    h.socket.end(1001);
    const kept = [h.client.sendMessage('a', '1'), h.client.sendMessage('a', '2')];
    const { error } = await outcome(h.client.sendMessage('a', '3'));
    assert.deepEqual([error.code, error.retriable], ['QUEUE_FULL', false]);
    await h.tick(5000);
    h.socket.accept();
    assert.deepEqual(h.socket.frames().map((f) => f.type), ['join_room', 'send_message', 'send_message']);
    for (const p of kept) assert.equal(await outcome(p), 'pending');
  });

  it('never keeps typing signals: they are stale by the time we reconnect', async (t) => {
    const h = harness(t);
    h.client.connect();
    assert.deepEqual(await outcome(h.client.send('typing', { room_id: 'r' }, 'r')), { value: false });
    assert.deepEqual(await outcome(h.client.typing('r')), { value: false });
    h.socket.accept();
    assert.deepEqual(h.socket.frames(), []);
  });

  it('goes out at flushBurst at once, then flushRate per second', async (t) => {
    const h = harness(t, { flushBurst: 3, flushRate: 2 });
    h.client.connect();
    for (let i = 1; i <= 7; i++) h.client.sendMessage('r', String(i));
    h.socket.accept();
    const sentAt = () => h.socket.frames().map((f) => f.payload.content);
    assert.deepEqual(sentAt(), ['1', '2', '3']);
    await h.tick(499);
    assert.equal(sentAt().length, 3);
    await h.tick(1);
    assert.deepEqual(sentAt(), ['1', '2', '3', '4']);
    await h.tick(500);
    assert.equal(sentAt().length, 5);
    h.client.sendMessage('r', '8'); // joins the line, does not jump it
    await h.tick(1000);
    assert.deepEqual(sentAt(), ['1', '2', '3', '4', '5', '6', '7']);
    await h.tick(500);
    assert.deepEqual(sentAt().slice(-1), ['8']);
    assert.equal(h.client.queued, 0);
  });
});

describe('rooms across reconnects', () => {
  it('are joined again after a reconnect, before anything else', async (t) => {
    const h = connected(t);
    h.client.joinRoom('a');
    h.socket.reply('join_room', 'room_info', roomInfo('a'));
    h.client.joinRoom('b', { history: 20 });
    h.socket.reply('join_room', 'room_info', roomInfo('b'));
    assert.deepEqual(h.client.rooms, ['a', 'b']);
    h.socket.end(1001);
    await h.tick(5000);
    h.socket.accept();
    assert.deepEqual(h.socket.frames().map((f) => f.payload), [{ room_id: 'a' }, { room_id: 'b', history: 20 }]);
  });

  it('forgets a room it left, and one whose join the server refused; keeps one whose join was lost', async (t) => {
    const h = connected(t);
    h.client.joinRoom('left');
    h.socket.reply('join_room', 'room_info', roomInfo('left'));
    h.client.leaveRoom('left');
    const refused = h.client.joinRoom('bad room');
    h.socket.reply('join_room', 'error', { payload: { code: 'INVALID_ROOM', message: 'no spaces' } });
    assert.equal((await outcome(refused)).error.code, 'INVALID_ROOM');
    h.client.joinRoom('in-flight');
    assert.deepEqual(h.client.rooms, ['in-flight']);
    h.socket.end(1006);
    assert.deepEqual(h.client.rooms, ['in-flight'], 'the server may have joined it: the rejoin settles it');
  });

  it('emits rejoin_failed and forgets a room the server no longer lets us join', async (t) => {
    const h = connected(t);
    h.client.joinRoom('a');
    h.socket.reply('join_room', 'room_info', roomInfo('a'));
    h.socket.end(1001);
    await h.tick(5000);
    h.socket.accept();
    h.socket.reply('join_room', 'error', { payload: { code: 'TOO_MANY_ROOMS', message: 'too many' } });
    const [failed] = h.of('rejoin_failed');
    assert.equal(failed.room, 'a');
    assert.equal(failed.error.code, 'TOO_MANY_ROOMS');
    assert.deepEqual(h.client.rooms, []);
  });

  for (const code of ['RATE_LIMITED', 'UNAVAILABLE']) {
    it(`tries a rejoin again after 1-2 s on the same connection when it was ${code}`, async (t) => {
      const h = connected(t);
      h.client.joinRoom('a', { history: 5 });
      h.socket.reply('join_room', 'room_info', roomInfo('a'));
      h.socket.end(1001);
      await h.tick(5000);
      h.socket.accept();
      h.socket.reply('join_room', 'error', { payload: { code, message: 'later' } });
      await h.tick(999);
      assert.equal(h.socket.frames('join_room').length, 1);
      await h.tick(1001);
      assert.equal(h.socket.frames('join_room').length, 2);
      assert.deepEqual(h.socket.last('join_room').payload, { room_id: 'a', history: 5 });
      assert.deepEqual(h.of('rejoin_failed'), []);
      assert.deepEqual(h.client.rooms, ['a']);
    });
  }
});

describe('typing', () => {
  it('sends typing at most once per typingIdle, and stop_typing after typingIdle of quiet', async (t) => {
    const h = connected(t, { typingIdle: 3000 });
    assert.deepEqual(await outcome(h.client.typing('r')), { value: true });
    await h.tick(1000);
    assert.deepEqual(await outcome(h.client.typing('r')), { value: false });
    await h.tick(2000);
    assert.deepEqual(await outcome(h.client.typing('r')), { value: true }, 'typingIdle later: sent again');
    await h.tick(2999);
    assert.deepEqual(h.socket.frames().map((f) => f.type), ['typing', 'typing']);
    await h.tick(1);
    assert.deepEqual(h.socket.frames().map((f) => f.type), ['typing', 'typing', 'stop_typing']);
    assert.deepEqual(h.socket.last('stop_typing'), { type: 'stop_typing', room: 'r', payload: { room_id: 'r' } });
  });

  it('ends with the message it was for', async (t) => {
    const h = connected(t);
    h.client.typing('r');
    h.client.sendMessage('r', 'done');
    assert.deepEqual(h.socket.frames().map((f) => f.type), ['typing', 'stop_typing', 'send_message']);
    await h.tick(10000);
    assert.equal(h.socket.frames('stop_typing').length, 1);
  });
});

describe('payloads and events', () => {
  it('parse a JSON-string payload, and give object payloads a hidden JSON toString (the old client\'s JSON.parse)', (t) => {
    const h = connected(t);
    const seen = [];
    h.client.on('user_joined', (f) => seen.push(f));
    h.socket.receive({ type: 'user_joined', room: 'r', payload: { id: 'u2', name: 'Ben' } });
    h.socket.receive({ type: 'user_joined', room: 'r', payload: '{"id":"u3","name":"Cat"}' });
    assert.deepEqual(JSON.parse(seen[0].payload), { id: 'u2', name: 'Ben' });
    assert.deepEqual(Object.keys(seen[0].payload), ['id', 'name']);
    assert.equal(seen[1].payload.name, 'Cat');

    const plain = connected(t, { legacyPayloadString: false });
    let got;
    plain.client.on('user_joined', (f) => { got = f; });
    plain.socket.receive({ type: 'user_joined', room: 'r', payload: { id: 'u2', name: 'Ben' } });
    assert.equal(String(got.payload), '[object Object]');
  });

  it('ignore frames that are not JSON objects with a type', (t) => {
    const h = connected(t);
    const seen = [];
    h.client.on('*', (f) => seen.push(f.type));
    for (const bad of ['not json', '[1,2]', '{"no":"type"}', 'null']) h.socket.receive(bad);
    h.socket.receive({ type: 'pong' });
    assert.deepEqual(seen, ['pong']);
  });

  it('on/off/once, `*`, and a throwing handler does not stop the others', (t) => {
    const h = connected(t);
    const seen = [];
    const off = h.client.on('pong', () => seen.push('on'));
    h.client.once('pong', () => seen.push('once'));
    h.client.on('pong', () => { throw new Error('handler bug'); });
    h.client.on('*', (f) => seen.push(`* ${f.type}`));
    h.socket.receive({ type: 'pong' });
    off();
    h.socket.receive({ type: 'pong' });
    h.client.off('*');
    h.socket.receive({ type: 'pong' });
    assert.deepEqual(seen, ['on', 'once', '* pong', '* pong']);
  });

  it('keep the old example client\'s names: WebSocketClient and its methods', () => {
    assert.equal(WebSocketClient, ParleyClient);
    assert.equal(defaultExport, ParleyClient);
    for (const name of ['connect', 'on', 'send', 'joinRoom', 'leaveRoom', 'sendMessage', 'disconnect']) {
      assert.equal(typeof ParleyClient.prototype[name], 'function', name);
    }
  });
});
