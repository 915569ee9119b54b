// parley.js: history and recovery (protocol version 2): since, dedup, recovered, gap filling, history().
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { harness, message, outcome } from './support/harness.mjs';

const ROOM = 'general';

/** A client in ROOM at `seq` of epoch `epoch` (the room_info answers the join). */
function inRoom(t, { seq = 10, epoch = 'e1', history, options } = {}) {
  const h = harness(t, options);
  h.client.connect();
  h.socket.accept();
  h.client.joinRoom(ROOM, history ? { history } : undefined);
  h.socket.reply('join_room', 'room_info', { payload: { room_id: ROOM, users: [], count: 1, seq, epoch } });
  return h;
}

/** Drops the connection, waits out the backoff and opens the next one; returns the rejoin frame. */
async function reconnect(h, code = 1001) {
  h.socket.end(code);
  await h.tick(h.of('state').at(-1).delay);
  h.socket.accept();
  return h.socket.last('join_room');
}

function answerRejoin(h, payload) {
  h.socket.reply('join_room', 'room_info', { payload: { room_id: ROOM, users: [], count: 1, ...payload } });
}

describe('join with history', () => {
  it('asks for the newest K, delivers them, then the live stream', (t) => {
    const h = inRoom(t, { seq: 10, history: 3 });
    assert.deepEqual(h.socket.frames('join_room')[0].payload, { room_id: ROOM, history: 3 });
    for (const seq of [8, 9, 10, 11]) h.socket.receive(message(ROOM, seq));
    assert.deepEqual(h.delivered(), ['m8', 'm9', 'm10', 'm11']);
    assert.deepEqual(h.of('gap'), []);
  });

  it('sends no since on a first join, nor when joining again on the same connection', (t) => {
    const h = inRoom(t);
    h.client.joinRoom(ROOM);
    assert.deepEqual(h.socket.frames('join_room').map((f) => f.payload), [{ room_id: ROOM }, { room_id: ROOM }]);
    answerRejoin(h, { seq: 12, epoch: 'e1' }); // replays nothing: tracking goes on
    h.socket.receive(message(ROOM, 11));
    assert.deepEqual(h.delivered(), ['m11']);
  });
});

describe('recovery after a reconnect', () => {
  it('rejoins with since {seq, epoch} and the same history option', async (t) => {
    const h = inRoom(t, { seq: 10, history: 50 });
    h.socket.receive(message(ROOM, 11));
    const rejoin = await reconnect(h);
    assert.deepEqual(rejoin.payload, { room_id: ROOM, history: 50, since: { seq: 11, epoch: 'e1' } });
  });

  it('counts the acks of our own messages: since includes them, and they are not replayed to us', async (t) => {
    const h = inRoom(t, { seq: 10 });
    const sent = h.client.sendMessage(ROOM, 'mine');
    h.socket.reply('send_message', 'ack', { payload: { message_id: 'msg-11', seq: 11 } });
    assert.equal((await outcome(sent)).value.payload.seq, 11);
    h.socket.receive(message(ROOM, 12));
    assert.deepEqual((await reconnect(h)).payload.since, { seq: 12, epoch: 'e1' });
    assert.deepEqual(h.of('gap'), []);
  });

  it('delivers what was missed once, then the live stream, and emits recovered', async (t) => {
    const h = inRoom(t, { seq: 10 });
    h.socket.receive(message(ROOM, 11));
    const rejoin = await reconnect(h);
    assert.deepEqual(rejoin.payload.since, { seq: 11, epoch: 'e1' });
    answerRejoin(h, { seq: 14, epoch: 'e1', recovered: true });
    for (const seq of [11, 12, 13, 14, 13, 15]) h.socket.receive(message(ROOM, seq)); // 11 and the second 13: duplicates
    assert.deepEqual(h.delivered(), ['m11', 'm12', 'm13', 'm14', 'm15']);
    assert.deepEqual(h.of('recovered'), [{ room: ROOM, recovered: true, missed: 3 }]);
    assert.deepEqual(h.of('gap'), []);
  });

  it('recovered false: says how many were missed, delivers the newest K it did not have', async (t) => {
    const h = inRoom(t, { seq: 10, history: 3 });
    for (const seq of [8, 9, 10]) h.socket.receive(message(ROOM, seq));
    await reconnect(h);
    answerRejoin(h, { seq: 2000, epoch: 'e1', recovered: false });
    for (const seq of [1998, 1999, 2000, 2001]) h.socket.receive(message(ROOM, seq));
    assert.deepEqual(h.of('recovered'), [{ room: ROOM, recovered: false, missed: 1990 }]);
    assert.deepEqual(h.delivered(), ['m8', 'm9', 'm10', 'm1998', 'm1999', 'm2000', 'm2001']);
    assert.deepEqual(h.of('gap'), [], 'recovered: false already said it');
  });

  it('recovered false when few were missed: the replayed ones it had are not delivered twice', async (t) => {
    const h = inRoom(t, { seq: 10, history: 5 });
    for (const seq of [6, 7, 8, 9, 10, 11]) h.socket.receive(message(ROOM, seq));
    await reconnect(h);
    answerRejoin(h, { seq: 13, epoch: 'e1', recovered: false });
    for (const seq of [9, 10, 11, 12, 13]) h.socket.receive(message(ROOM, seq));
    assert.deepEqual(h.delivered(), ['m6', 'm7', 'm8', 'm9', 'm10', 'm11', 'm12', 'm13']);
  });

  it('a replaced log (new epoch) starts again: its seqs are new messages, missed is unknown', async (t) => {
    const h = inRoom(t, { seq: 10, history: 2 });
    for (const seq of [9, 10]) h.socket.receive(message(ROOM, seq));
    await reconnect(h);
    answerRejoin(h, { seq: 2, epoch: 'e2', recovered: false });
    for (const seq of [1, 2, 3]) h.socket.receive(message(ROOM, seq, `new ${seq}`));
    assert.deepEqual(h.delivered(), ['m9', 'm10', 'new 1', 'new 2', 'new 3']);
    assert.deepEqual(h.of('recovered'), [{ room: ROOM, recovered: false, missed: null }]);
    assert.deepEqual((await reconnect(h)).payload.since, { seq: 3, epoch: 'e2' });
  });

  it('a connection lost during a replay recovers from the last replayed message', async (t) => {
    const h = inRoom(t, { seq: 10 });
    await reconnect(h);
    answerRejoin(h, { seq: 20, epoch: 'e1', recovered: true });
    for (const seq of [11, 12]) h.socket.receive(message(ROOM, seq));
    assert.deepEqual((await reconnect(h)).payload.since, { seq: 12, epoch: 'e1' });
    answerRejoin(h, { seq: 20, epoch: 'e1', recovered: true });
    for (const seq of [13, 20, 21]) h.socket.receive(message(ROOM, seq));
    assert.deepEqual(h.delivered(), ['m11', 'm12', 'm13', 'm20', 'm21']);
  });

  it('a first join whose history replays never came recovers from before them', async (t) => {
    const h = inRoom(t, { seq: 10, history: 3 });
    assert.deepEqual((await reconnect(h)).payload.since, { seq: 7, epoch: 'e1' });
  });

  it('our own acked message among the replays is not delivered back to us', async (t) => {
    const h = inRoom(t, { seq: 10 });
    h.client.sendMessage(ROOM, 'mine');
    h.socket.reply('send_message', 'ack', { payload: { message_id: 'msg-12', seq: 12 } });
    h.socket.receive(message(ROOM, 13)); // 11 is missing: held, and asked for
    const rejoin = await reconnect(h);
    assert.deepEqual(rejoin.payload.since, { seq: 10, epoch: 'e1' }, 'not past the gap');
    answerRejoin(h, { seq: 13, epoch: 'e1', recovered: true });
    for (const seq of [11, 12, 13]) h.socket.receive(message(ROOM, seq, `m${seq}`, seq === 12 ? { id: 'u1', name: 'Ann' } : undefined));
    assert.deepEqual(h.delivered(), ['m11', 'm13']);
  });

  it('forgets the position of a room it left', async (t) => {
    const h = inRoom(t, { seq: 10 });
    h.client.leaveRoom(ROOM);
    h.client.joinRoom(ROOM);
    assert.deepEqual(h.socket.last('join_room').payload, { room_id: ROOM });
  });
});

describe('gaps in the live stream', () => {
  it('are filled with history {after} first: in order, once, and no gap event', async (t) => {
    const h = inRoom(t, { seq: 10 });
    const frames = [];
    h.client.on('*', (f) => frames.push(f.type));
    h.socket.receive(message(ROOM, 11));
    h.socket.receive(message(ROOM, 14)); // 12 and 13 were dropped for a slow connection
    h.socket.receive(message(ROOM, 15));
    assert.deepEqual(h.delivered(), ['m11'], 'later messages wait for the missing ones');
    const ask = h.socket.last('history');
    assert.deepEqual([ask.room, ask.payload], [ROOM, { after: 11, limit: 2 }]);
    h.socket.reply('history', 'history', { payload: { room_id: ROOM, epoch: 'e1', seq: 15, messages: [message(ROOM, 12), message(ROOM, 13), message(ROOM, 14)] } });
    await outcome(Promise.resolve());
    assert.deepEqual(h.delivered(), ['m11', 'm12', 'm13', 'm14', 'm15']);
    assert.deepEqual(h.of('gap'), []);
    assert.ok(!frames.includes('history'), 'the fill is the client\'s own business');
  });

  it('asks again while more is missing (pages of 100)', async (t) => {
    const h = inRoom(t, { seq: 0 });
    h.socket.receive(message(ROOM, 151));
    assert.deepEqual(h.socket.last('history').payload, { after: 0, limit: 100 });
    const page = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => message(ROOM, from + i));
    h.socket.reply('history', 'history', { payload: { room_id: ROOM, epoch: 'e1', seq: 151, messages: page(1, 100) } });
    await outcome(Promise.resolve());
    assert.deepEqual(h.socket.last('history').payload, { after: 100, limit: 50 });
    h.socket.reply('history', 'history', { payload: { room_id: ROOM, epoch: 'e1', seq: 151, messages: page(101, 150) } });
    await outcome(Promise.resolve());
    assert.equal(h.delivered().length, 151);
    assert.deepEqual(h.delivered().slice(98, 102), ['m99', 'm100', 'm101', 'm102']);
    assert.deepEqual(h.of('gap'), []);
  });

  it('fills scattered gaps (a burst the server thinned out) one after the other, each with its own request', async (t) => {
    const h = inRoom(t, { seq: 10 });
    for (const seq of [11, 13, 14, 16, 18]) h.socket.receive(message(ROOM, seq)); // 12, 15 and 17 were dropped
    const fill = async (after, seq) => {
      const ask = h.socket.last('history');
      assert.deepEqual(ask.payload, { after, limit: 1 });
      h.socket.reply('history', 'history', { payload: { room_id: ROOM, epoch: 'e1', seq: 19, messages: [message(ROOM, seq)] } });
      await outcome(Promise.resolve());
    };
    assert.deepEqual(h.delivered(), ['m11']);
    await fill(11, 12);
    assert.deepEqual(h.delivered(), ['m11', 'm12', 'm13', 'm14']);
    await fill(14, 15);
    h.socket.receive(message(ROOM, 19)); // live, while the last gap is being filled
    await fill(16, 17);
    assert.deepEqual(h.delivered(), ['m11', 'm12', 'm13', 'm14', 'm15', 'm16', 'm17', 'm18', 'm19']);
    assert.equal(h.socket.frames('history').length, 3, 'one request per gap, never two at once');
    assert.deepEqual(h.of('gap'), []);
  });

  it('reports as gap only what the server no longer has', async (t) => {
    const h = inRoom(t, { seq: 10 });
    h.socket.receive(message(ROOM, 16)); // 11-15 missing; the log kept only 13 and 15
    h.socket.reply('history', 'history', { payload: { room_id: ROOM, epoch: 'e1', seq: 16, messages: [message(ROOM, 13), message(ROOM, 15)] } });
    await outcome(Promise.resolve());
    assert.deepEqual(h.of('gap'), [{ room: ROOM, expected: 11, got: 13 }, { room: ROOM, expected: 14, got: 15 }]);
    assert.deepEqual(h.delivered(), ['m13', 'm15', 'm16']);
    const order = h.events.filter((e) => e.event === 'gap' || e.event === 'new_message').map((e) => e.got ?? e.seq);
    assert.deepEqual(order, [13, 13, 15, 15, 16], 'each gap comes just before the message after it');
  });

  it('reports the whole gap when history fails (and the held messages follow)', async (t) => {
    const h = inRoom(t, { seq: 10 });
    h.socket.receive(message(ROOM, 13));
    h.socket.reply('history', 'error', { payload: { code: 'UNAVAILABLE', message: 'storage down' } });
    await outcome(Promise.resolve());
    assert.deepEqual(h.of('gap'), [{ room: ROOM, expected: 11, got: 13 }]);
    assert.deepEqual(h.delivered(), ['m13']);
  });

  it('reports a gap larger than gapFillLimit at once', (t) => {
    const h = inRoom(t, { seq: 10, options: { gapFillLimit: 5 } });
    h.socket.receive(message(ROOM, 17));
    assert.deepEqual(h.socket.frames('history'), []);
    assert.deepEqual(h.of('gap'), [{ room: ROOM, expected: 11, got: 17 }]);
    assert.deepEqual(h.delivered(), ['m17']);
  });

  it('waits for the ack of our own message in flight: it may be the missing seq', async (t) => {
    const h = inRoom(t, { seq: 10 });
    h.client.sendMessage(ROOM, 'mine');
    h.socket.receive(message(ROOM, 12)); // 11 may be ours
    assert.deepEqual(h.socket.frames('history'), []);
    assert.deepEqual(h.delivered(), []);
    h.socket.reply('send_message', 'ack', { payload: { message_id: 'msg-11', seq: 11 } });
    await outcome(Promise.resolve());
    assert.deepEqual(h.delivered(), ['m12']);
    assert.deepEqual(h.socket.frames('history'), []);
    assert.deepEqual(h.of('gap'), []);
  });

  it('asks history once our message in flight failed', async (t) => {
    const h = inRoom(t, { seq: 10 });
    h.client.sendMessage(ROOM, 'mine');
    h.socket.receive(message(ROOM, 12));
    h.socket.reply('send_message', 'error', { payload: { code: 'RATE_LIMITED', message: 'slow down' } });
    await outcome(Promise.resolve());
    assert.deepEqual(h.socket.last('history').payload, { after: 10, limit: 1 });
  });

  it('drops a live message seen before', (t) => {
    const h = inRoom(t, { seq: 10 });
    for (const seq of [11, 12, 11, 12]) h.socket.receive(message(ROOM, seq));
    assert.deepEqual(h.delivered(), ['m11', 'm12']);
  });

  it('forgets held messages when the connection drops: the rejoin recovers them from before the gap', async (t) => {
    const h = inRoom(t, { seq: 10 });
    h.socket.receive(message(ROOM, 12));
    const ask = h.socket.last('history');
    const rejoin = await reconnect(h);
    assert.deepEqual(rejoin.payload.since, { seq: 10, epoch: 'e1' });
    h.socket.receive({ type: 'history', id: ask.id, room: ROOM, payload: { room_id: ROOM, epoch: 'e1', seq: 12, messages: [message(ROOM, 11)] } });
    answerRejoin(h, { seq: 12, epoch: 'e1', recovered: true });
    for (const seq of [11, 12]) h.socket.receive(message(ROOM, seq));
    assert.deepEqual(h.delivered(), ['m11', 'm12']);
    assert.deepEqual(h.of('gap'), []);
  });
});

describe('history()', () => {
  it('asks before/after/limit and resolves with the history frame; messages are not delivered as events', async (t) => {
    const h = inRoom(t, { seq: 120 });
    const events = [];
    h.client.on('history', (f) => events.push(f.id));
    const older = h.client.history(ROOM, { before: 101, limit: 2 });
    const ask = h.socket.last('history');
    assert.deepEqual(ask, { type: 'history', room: ROOM, payload: { before: 101, limit: 2 }, id: ask.id });
    h.socket.reply('history', 'history', { payload: { room_id: ROOM, epoch: 'e1', seq: 120, messages: [message(ROOM, 99), message(ROOM, 100)] } });
    const { value } = await outcome(older);
    assert.deepEqual(value.payload.messages.map((m) => m.seq), [99, 100]);
    assert.deepEqual(JSON.parse(value.payload.messages[0].payload), { content: 'm99' }, 'payloads as everywhere');
    assert.deepEqual(h.delivered(), []);
    assert.deepEqual(events, [ask.id], 'the reply is an event too, as every frame');
    h.client.history(ROOM);
    assert.deepEqual(h.socket.last('history').payload, {});
  });

  it('rejects with the server\'s code: NOT_IN_ROOM, or UNAVAILABLE (retriable)', async (t) => {
    const h = inRoom(t);
    const a = h.client.history('elsewhere');
    h.socket.reply('history', 'error', { payload: { code: 'NOT_IN_ROOM', message: 'join first' } });
    const b = h.client.history(ROOM, { after: 3 });
    h.socket.reply('history', 'error', { payload: { code: 'UNAVAILABLE', message: 'storage down' } });
    assert.deepEqual([(await outcome(a)).error.code, (await outcome(a)).error.retriable], ['NOT_IN_ROOM', false]);
    assert.deepEqual([(await outcome(b)).error.code, (await outcome(b)).error.retriable], ['UNAVAILABLE', true]);
  });
});

describe('a version 1 server (no epoch in room_info)', () => {
  function v1(t) {
    const h = harness(t);
    h.client.connect();
    h.socket.accept();
    h.client.joinRoom(ROOM);
    h.socket.reply('join_room', 'room_info', { payload: { room_id: ROOM, users: [], count: 1 } });
    return h;
  }

  it('reports a skip as gap at once, before the message, and asks no history', (t) => {
    const h = v1(t);
    for (const seq of [4, 5, 8]) h.socket.receive(message(ROOM, seq));
    assert.deepEqual(h.of('gap'), [{ room: ROOM, expected: 6, got: 8 }]);
    assert.deepEqual(h.delivered(), ['m4', 'm5', 'm8']);
    assert.deepEqual(h.socket.frames('history'), []);
  });

  it('rejoins without since, and delivers a room that started again at 1', async (t) => {
    const h = v1(t);
    for (const seq of [4, 5]) h.socket.receive(message(ROOM, seq));
    assert.deepEqual((await reconnect(h)).payload, { room_id: ROOM });
    h.socket.reply('join_room', 'room_info', { payload: { room_id: ROOM, users: [], count: 1 } });
    for (const seq of [1, 2]) h.socket.receive(message(ROOM, seq, `again ${seq}`));
    assert.deepEqual(h.delivered(), ['m4', 'm5', 'again 1', 'again 2']);
    assert.deepEqual(h.of('gap'), []);
  });

  it('counts our own acks without reporting a gap', (t) => {
    const h = v1(t);
    h.socket.receive(message(ROOM, 4));
    h.client.sendMessage(ROOM, 'mine');
    h.socket.reply('send_message', 'ack', { payload: { message_id: 'x', seq: 5 } });
    h.socket.receive(message(ROOM, 6));
    assert.deepEqual(h.of('gap'), []);
  });
});
