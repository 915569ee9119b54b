// Parley demo page: sign in with a display name, join rooms, chat, see who is here and
// who is typing, watch the connection. Uses only /parley.js. All user content goes into
// the page through textContent (via el()), never innerHTML.
//
// Handy for tests: /?name=Ann&room=general,random signs in and joins at once, and
// window.parleyDemo exposes the page state and its client.
import { ParleyClient } from '/parley.js';

const $ = (id) => document.getElementById(id);
const MAX_ENTRIES = 500;          // per room
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
  rooms: new Map(),         // id -> {id, joined, entries, users: Map(id -> name), typing: Map(id -> {name, timer}), unread}
  active: null,
  outage: false,            // lost a connection that had been open; cleared by the next `connected`
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
  if (app.staticToken) return app.staticToken;
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
  Object.assign(app, { active: null, me: null, token: null, tokenExpiresAt: 0, staticToken: null, outage: false });
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
  const c = new ParleyClient(url, tokenSupplier);
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
    notice(room, 'gap', `${n} message${n === 1 ? '' : 's'} missed (#${expected}${n > 1 ? `–#${got - 1}` : ''})`);
  });
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
  if (e.state === 'closed' && e.code === 4001) toast('TOKEN_EXPIRED', 'The pasted token expired: sign in again.');
  else if (e.state === 'closed' && e.error) toast('DISCONNECTED', `Gave up reconnecting: ${e.error.message || e.error}`);
  renderBadge(e);
}

function onConnected(f) {
  if (f.payload?.user) app.me = f.payload.user;
  if (app.outage) {
    app.outage = false;
    for (const id of app.rooms.keys()) {
      notice(id, 'reconnect', `Reconnected to ${f.payload?.node || 'the server'}. Messages sent meanwhile are not shown.`, f.timestamp);
    }
  }
  renderMe();
  renderBadge();
  renderPresence();
}

function roomOf(frame) {
  const id = frame.room || frame.payload?.room_id;
  return id ? app.rooms.get(id) : undefined;
}

function onRoster(f) {
  const r = roomOf(f);
  if (!r) return;
  r.joined = true;
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
  addEntry(r, {
    kind: 'message', id: f.id, seq: f.seq, sender, text: String(f.payload?.content ?? ''),
    ts: f.timestamp, own: sender.id === app.me?.id, status: 'sent',
  });
}

// ---- rooms, messages, notices ------------------------------------------------------------

function ensureRoom(id) {
  let r = app.rooms.get(id);
  if (!r) {
    r = { id, joined: false, entries: [], users: new Map(), typing: new Map(), unread: 0 };
    app.rooms.set(id, r);
  }
  return r;
}

function joinRoom(id) {
  ensureRoom(id);
  setActive(id);
  app.client.joinRoom(id).catch((err) => {
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

function addEntry(r, entry) {
  r.entries.push(entry);
  if (r.entries.length > MAX_ENTRIES) r.entries.splice(0, r.entries.length - MAX_ENTRIES);
  if (r.id !== app.active) {
    if (entry.kind === 'message') { r.unread++; renderRoomList(); }
    return;
  }
  const list = $('message-list');
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  list.append(entryEl(entry));
  while (list.children.length > MAX_ENTRIES) list.firstElementChild.remove();
  if (nearBottom || entry.own) list.scrollTop = list.scrollHeight;
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
  const r = app.active ? app.rooms.get(app.active) : null;
  if (!text || !r || !app.client) return;
  const me = app.me || { id: '', name: app.name };
  const entry = { kind: 'message', sender: me, text, ts: null, own: true, status: 'pending' };
  addEntry(r, entry);
  input.value = '';
  app.client.sendMessage(r.id, text).then((ack) => {
    Object.assign(entry, { status: 'sent', id: ack.payload?.message_id, seq: ack.payload?.seq, ts: ack.timestamp });
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

function renderBadge(e) {
  const c = app.client;
  const state = c ? c.state : 'closed';
  const badge = $('conn-badge');
  const node = state === 'open' && c.node ? c.node : '';
  badge.dataset.state = state;
  badge.dataset.node = node;
  $('conn-state').textContent = state;
  $('conn-node').textContent = node;
  let detail = '';
  if (e && e.state === 'reconnecting' && state === 'reconnecting') {
    detail = `attempt ${e.attempt}, in ${(e.delay / 1000).toFixed(1)} s`;
  }
  $('conn-detail').textContent = detail;
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
  const r = app.active ? app.rooms.get(app.active) : null;
  $('room-title').textContent = r ? r.id : 'No room';
  $('room-title').dataset.room = r ? r.id : '';
  $('leave-btn').hidden = !r;
  $('message-input').disabled = !r;
  $('send-btn').disabled = !r;
  const list = $('message-list');
  list.dataset.room = r ? r.id : '';
  list.replaceChildren(...(r ? r.entries.map(entryEl) : []));
  list.scrollTop = list.scrollHeight;
  renderPresence();
  renderTyping();
}

function renderPresence() {
  const r = app.active ? app.rooms.get(app.active) : null;
  const users = r ? [...r.users] : [];
  users.sort((a, b) => a[1].localeCompare(b[1]));
  $('presence-count').textContent = String(users.length);
  $('presence-list').replaceChildren(...users.map(([id, name]) => el('li', {
    'data-testid': 'presence-item', 'data-user-id': id, 'data-self': id === app.me?.id,
    title: id === app.me?.id ? `${name} (you)` : name,
  }, name)));
}

function renderTyping() {
  const r = app.active ? app.rooms.get(app.active) : null;
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
