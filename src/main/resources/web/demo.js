// Parley demo page: sign in with a display name, join rooms (with their last 50 messages, and
// earlier ones on scrolling up), chat, see who is here and who is typing, watch the connection
// (retry now; why the server refuses). Uses only /parley.js. All user content goes into the page
// through textContent (via el()), never innerHTML.
//
// Handy for tests: /?name=Ann&room=general,random signs in and joins at once, and
// window.parleyDemo exposes the page state and its client.
import { ParleyClient } from '/parley.js';

const $ = (id) => document.getElementById(id);
const MAX_ENTRIES = 500;          // per room
const HISTORY_PAGE = 50;          // messages shown on join, and per "load earlier messages"
const TYPING_EXPIRE_MS = 6000;    // 2 x the library's typingIdle: a lost stop_typing does not stick
const TOAST_MS = 6000;
const MAX_TOASTS = 5;

const app = {
  client: null,
  name: '',
  me: null,                 // {id, name}
  token: null,
  tokenExpiresAt: 0,
  staticToken: null,        // a pasted JWT: not refreshable
  // id -> {id, joined, entries, users: Map(id -> name), typing: Map(id -> {name, timer}), unread,
  //        epoch, seqs: Set of the seqs shown, oldest: lowest seq shown, earlier: 'more' | 'loading' | 'none'}
  rooms: new Map(),
  active: null,
  outage: false,            // lost a connection that had been open; cleared by the next `connected`
  refusal: '',              // why the server refuses us, from the library's pre-check; cleared on open
  signingOut: false,
};
window.parleyDemo = { app, ParleyClient };

// ---- tiny DOM helper ------------------------------------------------------------------

/** Builds an element; string children become text nodes, so nothing is parsed as HTML. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const c of children) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : String(c));
  return node;
}

function timeEl(ts) {
  const t = el('time', { 'data-testid': 'message-time' });
  if (ts) {
    const d = new Date(ts);
    t.dateTime = ts;
    t.title = d.toLocaleString();
    t.textContent = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }
  return t;
}

// ---- sign in ----------------------------------------------------------------------------

async function mintToken() {
  let res;
  try {
    res = await fetch('/dev/token', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: app.name }),
    });
  } catch {
    throw new Error('Cannot reach the server.');
  }
  if (res.status === 404) {
    $('token-details').open = true;
    throw new Error('The dev token endpoint is off on this server: paste a JWT instead.');
  }
  if (!res.ok) throw new Error(`The token endpoint answered ${res.status}.`);
  const body = await res.json();
  app.token = body.token;
  app.tokenExpiresAt = Date.now() + (body.expires_in || 3600) * 1000;
  if (body.user) app.me = body.user;
  return body.token;
}

/** Token supplier for the client: reuse a token with time left, mint a new one otherwise. */
async function tokenSupplier({ expired }) {
  if (!expired && app.token && app.tokenExpiresAt - Date.now() > 30000) return app.token;
  return mintToken();
}

async function signIn(name, pastedToken) {
  $('signin-error').textContent = '';
  $('signin-btn').disabled = true;
  try {
    app.name = name;
    app.staticToken = pastedToken || null;
    if (!app.staticToken) await mintToken();
  } catch (err) {
    $('signin-error').textContent = err.message;
    return false;
  } finally {
    $('signin-btn').disabled = false;
  }
  startClient();
  $('signin').hidden = true;
  $('chat').hidden = false;
  $('me-box').hidden = false;
  renderMe();
  renderRoom();
  $('room-input').focus();
  return true;
}

function signOut() {
  app.signingOut = true;
  if (app.client) app.client.disconnect();
  app.client = null;
  app.signingOut = false;
  for (const r of app.rooms.values()) for (const t of r.typing.values()) clearTimeout(t.timer);
  app.rooms.clear();
  Object.assign(app, {
    active: null, me: null, token: null, tokenExpiresAt: 0, staticToken: null, outage: false, refusal: '', stateEvent: null,
  });
  $('chat').hidden = true;
  $('me-box').hidden = true;
  $('signin').hidden = false;
  renderRoomList();
  renderRoom();
  renderBadge();
  $('name-input').focus();
}

// ---- client and its events ------------------------------------------------------------

function startClient() {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  // A pasted token is given as a string: the library then stops when it expires or is rejected.
  const c = new ParleyClient(url, app.staticToken || tokenSupplier);
  app.client = c;
  c.on('state', onState);
  c.on('connected', onConnected);
  c.on('room_info', onRoster);
  c.on('online_users', onRoster);
  c.on('user_joined', onUserJoined);
  c.on('user_left', onUserLeft);
  c.on('user_typing', onUserTyping);
  c.on('new_message', onNewMessage);
  c.on('gap', ({ room, expected, got }) => {
    const n = got - expected;
    notice(room, 'gap', `${plural(n, 'message')} missed (#${expected}${n > 1 ? `–#${got - 1}` : ''})`);
  });
  c.on('recovered', ({ room, recovered, missed }) => {
    if (recovered && missed) notice(room, 'recovered', `${plural(missed, 'message')} sent meanwhile recovered`);
    else if (!recovered) notice(room, 'gap', `${missed === null ? 'Messages' : plural(missed, 'message')} sent meanwhile could not be recovered`);
  });
  c.on('refused', (r) => { app.refusal = refusalText(r); renderBadge(); });
  c.on('error', (f) => toast(f.payload?.code || 'ERROR', f.payload?.message || 'error', f.room));
  c.on('rejoin_failed', ({ room, error }) => {
    toast(error.code, `Could not rejoin ${room}: ${error.message}`);
    dropRoom(room);
  });
  c.connect();
}

function onState(e) {
  if (app.signingOut) return;
  if (e.state === 'reconnecting' && !app.outage) {
    app.outage = true;
    for (const id of app.rooms.keys()) notice(id, 'lost', `Connection lost (${e.code || 'no socket'}); reconnecting…`);
  }
  if (e.state === 'open') app.refusal = '';
  if (e.state === 'closed') {
    if (e.code === 4003) toast('DISCONNECTED', `Disconnected by the server${e.reason ? `: ${e.reason}` : ''}.`);
    else if (e.code === 4001) toast('TOKEN_EXPIRED', 'The pasted token expired: sign in again.');
    else if (e.refused) toast('TOKEN_REJECTED', `${refusalText(e.refused)}: sign in again.`);
    else if (e.error) toast('DISCONNECTED', `Gave up reconnecting: ${e.error.message || e.error}`);
  }
  renderBadge(e);
}

/** What the server's pre-check said, for people. */
function refusalText({ reason, detail, retryAfter }) {
  if (reason === 'origin_not_allowed') return 'refused: origin not allowed';
  if (reason === 'token_rejected') return `token rejected${detail ? `: ${detail}` : ''}`;
  if (reason === 'unavailable') return `server unavailable${retryAfter ? ` (busy for ${retryAfter} s)` : ''}`;
  return `refused: ${String(reason).replace(/_/g, ' ')}`;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

function onConnected(f) {
  if (f.payload?.user) app.me = f.payload.user;
  if (app.outage) {
    app.outage = false;
    for (const id of app.rooms.keys()) notice(id, 'reconnect', `Reconnected to ${f.payload?.node || 'the server'}.`, f.timestamp);
  }
  renderMe();
  renderBadge();
  renderPresence();
}

const activeRoom = () => (app.active ? app.rooms.get(app.active) : null);

function roomOf(frame) {
  const id = frame.room || frame.payload?.room_id;
  return id ? app.rooms.get(id) : undefined;
}

function onRoster(f) {
  const r = roomOf(f);
  if (!r) return;
  r.joined = true;
  const epoch = f.payload?.epoch;
  if (f.type === 'room_info' && epoch && epoch !== r.epoch) { // a new room, or its log was replaced
    if (r.epoch) notice(r.id, 'gap', 'The room\'s history was reset.');
    r.epoch = epoch;
    r.seqs.clear();
    r.oldest = null;
    r.earlier = 'none';
  }
  r.users = new Map((f.payload?.users || []).map((u) => [u.id, u.name]));
  if (r.id === app.active) renderPresence();
  renderRoomList();
}

function onUserJoined(f) {
  const r = roomOf(f);
  const user = f.payload?.id ? f.payload : f.sender;
  if (!r || !user) return;
  r.users.set(user.id, user.name);
  notice(r.id, 'join', `${user.name} joined`, f.timestamp);
  if (r.id === app.active) renderPresence();
}

function onUserLeft(f) {
  const r = roomOf(f);
  const user = f.payload?.id ? f.payload : f.sender;
  if (!r || !user) return;
  r.users.delete(user.id);
  clearTyping(r, user.id);
  notice(r.id, 'leave', `${user.name} left`, f.timestamp);
  if (r.id === app.active) renderPresence();
}

function onUserTyping(f) {
  const r = roomOf(f);
  const user = f.sender;
  if (!r || !user || user.id === app.me?.id) return; // our own other tabs
  clearTyping(r, user.id);
  if (f.payload?.typing) {
    r.typing.set(user.id, { name: user.name, timer: setTimeout(() => clearTyping(r, user.id), TYPING_EXPIRE_MS) });
  }
  if (r.id === app.active) renderTyping();
}

function clearTyping(r, userId) {
  const t = r.typing.get(userId);
  if (!t) return;
  clearTimeout(t.timer);
  r.typing.delete(userId);
  if (r.id === app.active) renderTyping();
}

function onNewMessage(f) {
  const r = roomOf(f);
  if (!r) return;
  const sender = f.sender || { id: '?', name: '?' };
  clearTyping(r, sender.id);
  const text = String(f.payload?.content ?? '');
  const own = sender.id === app.me?.id;
  // Ours, sent when the connection dropped: its ack was lost, but the server kept it. It moves
  // down to its place in the room's order.
  const unconfirmed = own && r.entries.find((e) => e.kind === 'message' && e.own && e.status === 'failed' && e.text === text);
  if (unconfirmed) {
    r.entries.splice(r.entries.indexOf(unconfirmed), 1);
    unconfirmed.el?.remove();
    addEntry(r, Object.assign(unconfirmed, { status: 'sent', id: f.id, seq: f.seq, ts: f.timestamp }));
    return;
  }
  addEntry(r, { kind: 'message', id: f.id, seq: f.seq, sender, text, ts: f.timestamp, own, status: 'sent' });
}

// ---- rooms, messages, notices ------------------------------------------------------------

function ensureRoom(id) {
  let r = app.rooms.get(id);
  if (!r) {
    r = {
      id, joined: false, entries: [], users: new Map(), typing: new Map(), unread: 0,
      epoch: null, seqs: new Set(), oldest: null, earlier: 'none',
    };
    app.rooms.set(id, r);
  }
  return r;
}

function joinRoom(id) {
  ensureRoom(id);
  setActive(id);
  app.client.joinRoom(id, { history: HISTORY_PAGE }).catch((err) => {
    requestFailed(`Join ${id}`)(err);
    if (!app.client || !app.client.rooms.includes(id)) dropRoom(id);
  });
}

function leaveRoom(id) {
  app.client.leaveRoom(id).catch(requestFailed(`Leave ${id}`));
  dropRoom(id);
}

function dropRoom(id) {
  const r = app.rooms.get(id);
  if (!r) return;
  for (const t of r.typing.values()) clearTimeout(t.timer);
  app.rooms.delete(id);
  if (app.active === id) setActive(app.rooms.keys().next().value ?? null);
  else renderRoomList();
}

function setActive(id) {
  if (app.active && app.active !== id && app.client) app.client.stopTyping(app.active);
  app.active = id;
  const r = id ? app.rooms.get(id) : null;
  if (r) r.unread = 0;
  renderRoomList();
  renderRoom();
}

/** Remembers a shown seq; the first messages shown after a join tell whether earlier ones exist. */
function noteSeq(r, seq) {
  if (!Number.isInteger(seq) || !r.epoch) return;
  r.seqs.add(seq);
  if (r.oldest === null || seq < r.oldest) {
    r.oldest = seq;
    if (r.earlier !== 'loading') r.earlier = seq > 1 ? 'more' : 'none';
  }
}

/**
 * Adds an entry at the end. Our own messages still waiting for their ack stay below a message the
 * server numbered (a replay after a reconnect, say), even with notices in between: the server
 * numbers them after everything it sent before their acks.
 */
function addEntry(r, entry) {
  if (entry.kind === 'message') {
    if (r.seqs.has(entry.seq)) return;
    noteSeq(r, entry.seq);
  }
  const waiting = entry.seq === undefined ? [] : r.entries.filter((e) => e.status === 'pending');
  r.entries.push(entry);
  for (const e of waiting) r.entries.push(...r.entries.splice(r.entries.indexOf(e), 1));
  if (r.entries.length > MAX_ENTRIES) { // the oldest go, and can be loaded again
    for (const gone of r.entries.splice(0, r.entries.length - MAX_ENTRIES)) {
      gone.el?.remove();
      r.seqs.delete(gone.seq);
    }
    const kept = r.entries.find((e) => e.seq !== undefined);
    if (kept && r.epoch) { r.oldest = kept.seq; r.earlier = kept.seq > 1 ? 'more' : 'none'; }
  }
  if (r.id !== app.active) {
    if (entry.kind === 'message') { r.unread++; renderRoomList(); }
    return;
  }
  const list = $('message-list');
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  list.append(entryEl(entry), ...waiting.filter((e) => e.el?.isConnected).map((e) => e.el));
  renderEarlier();
  if (nearBottom || entry.own) list.scrollTop = list.scrollHeight;
}

/** Shows the room's messages before the oldest one shown ("load earlier messages"). */
async function loadEarlier(r) {
  if (r.earlier !== 'more' || !app.client) return;
  r.earlier = 'loading';
  renderEarlier();
  let reply;
  try {
    reply = await app.client.history(r.id, { before: r.oldest, limit: HISTORY_PAGE });
  } catch (err) {
    r.earlier = 'more';
    renderEarlier();
    requestFailed('Load earlier messages')(err);
    return;
  }
  if (app.rooms.get(r.id) !== r) return; // left meanwhile
  const older = (reply.payload?.messages || []).filter((m) => Number.isInteger(m.seq) && !r.seqs.has(m.seq) && m.seq < r.oldest);
  const entries = older.map((m) => ({
    kind: 'message', id: m.id, seq: m.seq, sender: m.sender || { id: '?', name: '?' },
    text: String(m.payload?.content ?? ''), ts: m.timestamp, own: m.sender?.id === app.me?.id, status: 'sent',
  }));
  r.entries.unshift(...entries);
  for (const e of entries) noteSeq(r, e.seq);
  // fewer than asked: the start of the room, or of what it keeps
  r.earlier = entries.length === HISTORY_PAGE && r.oldest > 1 ? 'more' : 'none';
  if (r.id !== app.active) return;
  const list = $('message-list');
  const fromBottom = list.scrollHeight - list.scrollTop;
  const first = $('earlier').nextSibling;
  for (const e of entries) list.insertBefore(entryEl(e), first);
  list.scrollTop = list.scrollHeight - fromBottom; // what was on screen stays on screen
  renderEarlier();
}

function notice(roomId, kind, text, ts = new Date().toISOString()) {
  const r = app.rooms.get(roomId);
  if (r) addEntry(r, { kind: 'notice', noticeKind: kind, text, ts });
}

function entryEl(e) {
  if (e.kind === 'notice') {
    e.el = el('li', { class: 'notice', 'data-testid': 'notice', 'data-kind': e.noticeKind }, timeEl(e.ts), ' ', e.text);
    return e.el;
  }
  const status = e.status === 'pending' ? 'sending…' : e.status === 'failed' ? 'not sent' : '';
  e.el = el('li', {
    class: 'message', 'data-testid': 'message', 'data-own': e.own, 'data-status': e.status,
    'data-sender-id': e.sender.id, 'data-sender-name': e.sender.name, 'data-seq': e.seq, 'data-message-id': e.id,
  },
  el('div', { class: 'meta' },
    el('span', { class: 'sender', 'data-testid': 'message-sender' }, e.sender.name),
    timeEl(e.ts),
    el('span', { class: 'status', 'data-testid': 'message-status' }, status)),
  el('p', { class: 'text', 'data-testid': 'message-text' }, e.text));
  return e.el;
}

function updateEntry(e) {
  if (e.el && e.el.isConnected) e.el.replaceWith(entryEl(e));
}

function sendCurrent() {
  const input = $('message-input');
  const text = input.value.trim();
  const r = activeRoom();
  if (!text || !r || !app.client) return;
  const me = app.me || { id: '', name: app.name };
  const entry = { kind: 'message', sender: me, text, ts: null, own: true, status: 'pending' };
  addEntry(r, entry);
  input.value = '';
  app.client.sendMessage(r.id, text).then((ack) => {
    Object.assign(entry, { status: 'sent', id: ack.payload?.message_id, seq: ack.payload?.seq, ts: ack.timestamp });
    noteSeq(r, entry.seq);
    updateEntry(entry);
  }, (err) => {
    entry.status = 'failed';
    updateEntry(entry);
    requestFailed('Send')(err);
  });
}

/** Toasts a failed request, unless the server's `error` frame was toasted already. */
function requestFailed(what) {
  return (err) => {
    if (err.frame || app.signingOut || !app.client) return;
    toast(err.code || 'ERROR', `${what}: ${err.message}`);
  };
}

// ---- rendering ----------------------------------------------------------------------------

/** The connection badge; `e` is the latest `state` event, when it has news. */
function renderBadge(e) {
  if (e) app.stateEvent = e;
  const c = app.client;
  const state = c ? c.state : 'closed';
  const last = c ? app.stateEvent : null;
  const badge = $('conn-badge');
  const node = state === 'open' && c.node ? c.node : '';
  badge.dataset.state = state;
  badge.dataset.node = node;
  $('conn-state').textContent = state;
  $('conn-node').textContent = node;
  let detail = '';
  if (state === 'reconnecting' && last?.state === 'reconnecting') detail = `attempt ${last.attempt}, in ${(last.delay / 1000).toFixed(1)} s`;
  else if (state === 'closed' && last?.code === 4003) detail = 'disconnected by the server';
  $('conn-detail').textContent = detail;
  $('conn-hint').textContent = c ? app.refusal : '';
  $('retry-btn').hidden = state !== 'reconnecting';
}

function renderMe() {
  $('me').textContent = app.me ? app.me.name : app.name;
}

function renderRoomList() {
  const list = $('room-list');
  list.replaceChildren(...[...app.rooms.values()].map((r) => {
    const select = el('button', { type: 'button', class: 'room-select', 'data-testid': 'room-select' },
      r.id, el('span', { class: 'unread', 'data-testid': 'room-unread' }, r.unread || ''));
    select.addEventListener('click', () => setActive(r.id));
    const leave = el('button', {
      type: 'button', class: 'room-leave', 'data-testid': 'room-leave', 'aria-label': `Leave ${r.id}`, title: `Leave ${r.id}`,
    }, '×');
    leave.addEventListener('click', () => leaveRoom(r.id));
    return el('li', {
      'data-testid': 'room-item', 'data-room': r.id, 'data-active': r.id === app.active, 'data-joined': r.joined,
    }, select, leave);
  }));
}

function renderRoom() {
  const r = activeRoom();
  $('room-title').textContent = r ? r.id : 'No room';
  $('room-title').dataset.room = r ? r.id : '';
  $('leave-btn').hidden = !r;
  $('message-input').disabled = !r;
  $('send-btn').disabled = !r;
  const list = $('message-list');
  list.dataset.room = r ? r.id : '';
  list.replaceChildren($('earlier'), ...(r ? r.entries.map(entryEl) : []));
  renderEarlier();
  list.scrollTop = list.scrollHeight;
  renderPresence();
  renderTyping();
}

function renderEarlier() {
  const r = activeRoom();
  const state = r ? r.earlier : 'none';
  $('earlier').hidden = state === 'none';
  $('earlier-btn').disabled = state === 'loading';
  $('earlier-btn').textContent = state === 'loading' ? 'Loading…' : 'Load earlier messages';
}

function renderPresence() {
  const r = activeRoom();
  const users = r ? [...r.users] : [];
  users.sort((a, b) => a[1].localeCompare(b[1]));
  $('presence-count').textContent = String(users.length);
  $('presence-list').replaceChildren(...users.map(([id, name]) => el('li', {
    'data-testid': 'presence-item', 'data-user-id': id, 'data-self': id === app.me?.id,
    title: id === app.me?.id ? `${name} (you)` : name,
  }, name)));
}

function renderTyping() {
  const r = activeRoom();
  const names = r ? [...r.typing.values()].map((t) => t.name) : [];
  let text = '';
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = `${names[0]}, ${names[1]} and ${names.length - 2} more are typing…`;
  const box = $('typing-indicator');
  box.textContent = text;
  box.dataset.users = names.join(',');
}

function toast(code, message, room) {
  const box = $('toasts');
  const key = `${code}|${message}|${room || ''}`;
  const last = box.lastElementChild;
  if (last && last.dataset.key === key) { // same error again: count it instead of stacking
    const count = last.querySelector('.toast-count');
    last.dataset.count = String(Number(last.dataset.count) + 1);
    count.textContent = `×${last.dataset.count}`;
    clearTimeout(last.timer);
    last.timer = setTimeout(() => last.remove(), TOAST_MS);
    return;
  }
  const t = el('div', {
    class: 'toast', role: 'alert', 'data-testid': 'toast', 'data-code': code, 'data-key': key, 'data-count': 1,
    'data-room': room,
  },
  el('span', { class: 'toast-code', 'data-testid': 'toast-code' }, code),
  el('span', { class: 'toast-message', 'data-testid': 'toast-message' }, room ? `${message} (${room})` : message),
  el('span', { class: 'toast-count' }));
  t.timer = setTimeout(() => t.remove(), TOAST_MS);
  box.append(t);
  while (box.children.length > MAX_TOASTS) box.firstElementChild.remove();
}

// ---- wiring ---------------------------------------------------------------------------------

$('signin-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = $('name-input').value.trim();
  const token = $('token-input').value.trim();
  if (!name && !token) { $('signin-error').textContent = 'Enter a display name.'; return; }
  signIn(name, token);
});
$('signout-btn').addEventListener('click', signOut);
$('join-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const id = $('room-input').value.trim();
  if (!id || !app.client) return;
  $('room-input').value = '';
  joinRoom(id);
});
$('leave-btn').addEventListener('click', () => { if (app.active) leaveRoom(app.active); });
$('message-form').addEventListener('submit', (ev) => { ev.preventDefault(); sendCurrent(); });
$('retry-btn').addEventListener('click', () => { if (app.client) app.client.reconnect(); });
$('earlier-btn').addEventListener('click', () => { const r = activeRoom(); if (r) loadEarlier(r); });
let lastScrollTop = 0;
$('message-list').addEventListener('scroll', (ev) => {
  const r = activeRoom();
  const { scrollTop } = ev.target;
  if (r && scrollTop < 40 && scrollTop < lastScrollTop) loadEarlier(r); // scrolled up to the top
  lastScrollTop = scrollTop;
});
$('message-input').addEventListener('input', (ev) => {
  if (!app.client || !app.active) return;
  if (ev.target.value.trim()) app.client.typing(app.active);
  else app.client.stopTyping(app.active);
});

renderBadge();
const params = new URLSearchParams(location.search);
if (params.get('name')) {
  $('name-input').value = params.get('name');
  signIn(params.get('name'), null).then((ok) => {
    if (!ok) return;
    for (const id of (params.get('room') || '').split(',').map((s) => s.trim()).filter(Boolean)) joinRoom(id);
  });
}
