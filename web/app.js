// The `mosaic fleet serve` page: the fleet table live over SSE, one agent's pane over a WebSocket,
// send, approve and deny. Every string from the server is untrusted: text goes in with textContent only.
import { COLUMNS, byAttention, cellTitle, colKey, headerLine, needsLine, needsYou, recordCells } from './cells.js';
import { watchPane } from './terminal.js';

const $ = (id) => document.getElementById(id);
const SIGN_IN = 'not signed in: open the URL printed by `mosaic fleet serve`';
const GOOD_SEND = new Set(['accepted', 'queued', 'sent']);

const state = {
  readOnly: false,
  snapshot: null,
  rows: new Map(), // agent → <tr>
  needsKey: '',
  answering: new Set(), // request ids with an approve/deny in flight
  panel: null, // { name, view } while an agent's panel is open
};

window.mosaicTerm = null;

/** An element with text (never markup) and attributes. */
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'text') node.textContent = value;
    else if (key.startsWith('data-')) node.dataset[key.slice(5).replace(/-(.)/g, (_, c) => c.toUpperCase())] = value;
    else node[key] = value;
  }
  node.append(...children);
  return node;
}

/* ---------- talking to the server ---------- */

/** What a failed answer means, in words: the server's `{error, hint}`, or what the status says. */
function errorText(status, body) {
  if (status === 401) return SIGN_IN;
  if (status === 429) return 'too many failed sign-ins from this address; wait a minute, then reload';
  const error = body && typeof body.error === 'string' ? body.error : `the server answered HTTP ${status}`;
  return body && body.hint ? `${error} (hint: ${body.hint})` : error;
}

/** fetch with JSON both ways; never throws: { ok, status, body, message }. */
async function api(path, body) {
  const init = { credentials: 'same-origin', headers: { accept: 'application/json' } };
  if (body !== undefined)
    Object.assign(init, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    return { ok: false, status: 0, body: null, message: 'the server is not answering (is `mosaic fleet serve` still running?)' };
  }
  const data = await res.json().catch(() => null);
  return { ok: res.ok, status: res.status, body: data, message: res.ok ? '' : errorText(res.status, data) };
}

function showBanner(text) {
  $('banner').textContent = text;
  $('banner').hidden = !text;
}

async function loadInfo() {
  const info = await api('/api/info');
  if (!info.ok) return info;
  state.readOnly = info.body.read_only === true;
  $('read-only-badge').hidden = !state.readOnly;
  $('send-form').hidden = state.readOnly;
  $('version').textContent = info.body.version ? `v${info.body.version}` : '';
  state.needsKey = ''; // the approve buttons depend on read_only
  if (state.snapshot) renderNeeds(state.snapshot);
  return info;
}

/* ---------- live fleet over SSE ---------- */

function setConn(conn, text) {
  $('conn').dataset.state = conn;
  $('conn').textContent = text;
  $('fleet').classList.toggle('stale', conn !== 'live');
}

let eventRetryMs = 1000;

function connectEvents() {
  const source = new EventSource('/api/events');
  source.addEventListener('open', () => {
    eventRetryMs = 1000;
    setConn('live', 'live');
    showBanner('');
    loadInfo(); // the server may have restarted with other options
  });
  source.addEventListener('fleet', (event) => {
    try {
      renderFleet(JSON.parse(event.data));
    } catch (error) {
      showBanner(`could not read a fleet update: ${error.message}`);
    }
  });
  source.addEventListener('error', async () => {
    if (source.readyState !== EventSource.CLOSED) {
      setConn('lost', 'reconnecting…'); // the browser retries by itself
      return;
    }
    // The browser gave up (an HTTP error such as 401): find out why, then try again ourselves.
    setConn('lost', 'disconnected');
    const info = await api('/api/info');
    showBanner(info.ok ? '' : info.message);
    // Signed out (or locked out): retrying with the same cookie would only count as failed logins.
    if (info.status === 401 || info.status === 429) {
      setConn('lost', 'signed out');
      return;
    }
    setTimeout(connectEvents, eventRetryMs);
    eventRetryMs = Math.min(eventRetryMs * 2, 10_000);
  });
}

function renderFleet(snapshot) {
  state.snapshot = snapshot;
  $('fleet').removeAttribute('aria-busy');
  $('fleet-header').textContent = headerLine(snapshot);
  $('systemd-error').hidden = !snapshot.systemd_error;
  $('systemd-error').textContent = snapshot.systemd_error ? `systemd: ${snapshot.systemd_error}; unit states unknown` : '';
  const records = byAttention(snapshot.records ?? []);
  $('fleet-empty').hidden = records.length > 0;
  $('table-wrap').hidden = records.length === 0;
  $('screen-note').hidden = !records.some((r) => r.status_source === 'screen');
  $('flag-notes').replaceChildren(
    ...records.flatMap((r) => r.flags.map((flag) => h('li', { text: `${r.agent}: ${flag}: ${r.reasons?.[flag] ?? ''}` }))),
  );
  renderRows(records);
  renderNeeds(snapshot);
  updatePanel();
}

/* ---------- the table ---------- */

function renderHead() {
  $('fleet-head').replaceChildren(...COLUMNS.map((c) => h('th', { scope: 'col', text: c, 'data-col': colKey(c) })));
}

function newRow(name) {
  const tr = h('tr', { tabIndex: 0, 'data-agent': name }, ...COLUMNS.map((c) => h('td', { 'data-col': colKey(c) })));
  tr.addEventListener('click', () => openPanel(name));
  tr.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      openPanel(name);
    }
  });
  return tr;
}

function fillCell(td, segments, title) {
  const key = JSON.stringify([segments, title]);
  if (td.mosaicKey === key) return; // unchanged: leave the DOM (and any selection in it) alone
  td.mosaicKey = key;
  td.title = title;
  td.replaceChildren(...segments.map((s) => (s.tone ? h('span', { className: `tone-${s.tone}`, text: s.text }) : s.text)));
}

/** Update rows in place, keyed by agent, so a focused row keeps its focus across updates. */
function renderRows(records) {
  const body = $('fleet-body');
  const focused = document.activeElement;
  const seen = new Set();
  records.forEach((record, index) => {
    seen.add(record.agent);
    let tr = state.rows.get(record.agent);
    if (!tr) state.rows.set(record.agent, (tr = newRow(record.agent)));
    recordCells(record).forEach((segments, i) => fillCell(tr.cells[i], segments, cellTitle(COLUMNS[i], record)));
    tr.classList.toggle('open', state.panel?.name === record.agent);
    if (body.children[index] !== tr) body.insertBefore(tr, body.children[index] ?? null);
  });
  for (const [name, tr] of state.rows) {
    if (seen.has(name)) continue;
    tr.remove();
    state.rows.delete(name);
  }
  if (focused instanceof HTMLElement && focused.isConnected && document.activeElement !== focused) focused.focus({ preventScroll: true });
}

/* ---------- needs you: the lines under the table, with approve and deny ---------- */

function renderNeeds(snapshot) {
  const needs = needsYou(byAttention(snapshot.records ?? []));
  const pending = snapshot.pending ?? [];
  const key = JSON.stringify([needs.map((r) => [r.agent, r.attention]), pending, state.readOnly, [...state.answering]]);
  if (key === state.needsKey) return;
  state.needsKey = key;
  $('needs-section').hidden = needs.length === 0;
  $('needs').replaceChildren(
    ...needs.map((r) => {
      const open = h('button', { type: 'button', className: 'link', text: r.agent, title: `watch ${r.agent}` });
      open.addEventListener('click', () => openPanel(r.agent));
      const line = needsLine(r);
      const item = h('li', { 'data-needs': r.agent }, open, line.slice(r.agent.length));
      if (r.attention.state === 'permission') {
        for (const row of pending.filter((p) => p.agent === r.agent)) item.append(pendingRow(r.agent, row));
      }
      return item;
    }),
  );
}

function pendingRow(agent, row) {
  if (row.answer !== 'mosaic' || !row.id) {
    return h('div', { className: 'pending', text: `answer it in the pane (mosaic agent attach ${agent})` });
  }
  const div = h('div', { className: 'pending', 'data-request': row.id }, h('span', { text: `${row.tool ?? '?'}: ${row.summary ?? ''} ` }));
  if (row.answered) {
    const verb = row.answered.decision === 'allow' ? 'approved' : 'denied';
    div.append(h('span', { className: 'dim', text: `(${verb}, not taken by the runtime yet) ` }));
  }
  if (state.readOnly) {
    div.append(h('span', { className: 'dim', text: `(read-only: mosaic agent approve|deny ${agent} ${row.id})` }));
    return div;
  }
  for (const action of ['approve', 'deny']) {
    const button = h('button', { type: 'button', text: action === 'approve' ? 'Approve' : 'Deny', 'data-action': action });
    button.disabled = state.answering.has(row.id);
    button.addEventListener('click', () => answer(agent, row.id, action));
    div.append(button);
  }
  return div;
}

async function answer(agent, id, action) {
  state.answering.add(id);
  state.needsKey = '';
  renderNeeds(state.snapshot);
  const res = await api(`/api/agents/${encodeURIComponent(agent)}/${action}`, { id });
  state.answering.delete(id);
  state.needsKey = '';
  if (state.snapshot) renderNeeds(state.snapshot);
  const out = $('approval-result');
  out.hidden = false;
  if (!res.ok) {
    out.dataset.status = 'error';
    out.textContent = `${agent}: ${action} ${id} failed: ${res.message}`;
    return;
  }
  const { request = {}, delivered } = res.body ?? {};
  const verb = action === 'approve' ? 'approved' : 'denied';
  const what = `${request.tool ?? ''}${request.summary ? `: ${request.summary}` : ''}`;
  out.dataset.status = delivered ? verb : 'undelivered';
  out.textContent = delivered
    ? `${agent}: ${verb} ${id} (${what})`
    : `${agent}: ${verb} ${id}, but the runtime has not taken the answer yet (its hook may be stuck); it stays listed as "${verb}, not taken" until it does or the request times out`;
}

/* ---------- the agent panel: live pane and send box ---------- */

function openPanel(name) {
  if (state.panel?.name === name) {
    $('panel').scrollIntoView({ block: 'nearest' });
    return;
  }
  closePanel();
  $('panel').hidden = false;
  $('panel-title').textContent = name;
  $('send-form').hidden = state.readOnly;
  $('send-verdict').hidden = true;
  const view = watchPane($('terminal'), name, (termState, text) => {
    $('term-status').dataset.state = termState;
    $('term-status').textContent = text;
    $('term-reconnect').hidden = termState !== 'gone';
  });
  state.panel = { name, view };
  history.replaceState(null, '', `#${encodeURIComponent(name)}`);
  for (const [agent, tr] of state.rows) tr.classList.toggle('open', agent === name);
  updatePanel();
  $('panel-title').focus({ preventScroll: true });
  $('panel').scrollIntoView({ block: 'start' });
}

function closePanel() {
  if (!state.panel) return;
  state.panel.view.close();
  state.panel = null;
  $('panel').hidden = true;
  $('terminal').replaceChildren();
  history.replaceState(null, '', location.pathname);
  for (const tr of state.rows.values()) tr.classList.remove('open');
}

/** The panel's one-line status from the newest fleet event, and a reconnect once the agent runs again. */
function updatePanel() {
  if (!state.panel || !state.snapshot) return;
  const record = state.snapshot.records?.find((r) => r.agent === state.panel.name);
  if (!record) {
    $('panel-status').textContent = 'not in the fleet';
    state.panel.view.fleetState('missing');
    return;
  }
  const needs = record.attention?.state && record.attention.state !== 'none' ? `, needs you: ${record.attention.detail}` : '';
  $('panel-status').textContent = `${record.state}, ${record.activity}${needs}`;
  state.panel.view.fleetState(record.state);
}

async function send(event) {
  event.preventDefault();
  if (!state.panel) return;
  const name = state.panel.name;
  const message = $('send-message').value; // exactly as typed: newlines and spaces matter to the agent
  const verdict = $('send-verdict');
  if (message === '') {
    showVerdict('error', 'nothing to send');
    return;
  }
  $('send-button').disabled = true;
  showVerdict('sending', `sending to ${name}…`);
  const res = await api(`/api/agents/${encodeURIComponent(name)}/send`, { message, verify: $('send-verify').checked });
  $('send-button').disabled = false;
  if (!res.ok) {
    showVerdict('error', res.message);
    return;
  }
  const { status = 'error', detail = '', duration_ms: ms, hint } = res.body ?? {};
  showVerdict(status, `${status}: ${detail}${ms === undefined ? '' : ` (${ms} ms)`}${hint ? ` (hint: ${hint})` : ''}`);
  // Delivered: clear the box for the next message (only if it still holds what was sent).
  if (GOOD_SEND.has(status) && $('send-message').value === message && state.panel?.name === name) $('send-message').value = '';
  verdict.scrollIntoView({ block: 'nearest' });
}

function showVerdict(status, text) {
  const verdict = $('send-verdict');
  verdict.hidden = false;
  verdict.dataset.status = status;
  verdict.className = `mono ${status === 'sending' ? 'dim' : GOOD_SEND.has(status) ? 'tone-green' : 'tone-red'}`;
  verdict.textContent = text;
}

/* ---------- wiring ---------- */

function start() {
  renderHead();
  $('panel-close').addEventListener('click', closePanel);
  $('term-reconnect').addEventListener('click', () => state.panel?.view.reconnect());
  $('send-form').addEventListener('submit', send);
  $('send-message').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $('send-form').requestSubmit();
    }
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && state.panel && event.target !== $('send-message')) closePanel();
  });
  let wanted = '';
  try {
    wanted = decodeURIComponent(location.hash.slice(1));
  } catch {
    // a hand-made hash: no panel
  }
  if (wanted) openPanel(wanted); // a reload keeps the open panel
  connectEvents();
}

start();
