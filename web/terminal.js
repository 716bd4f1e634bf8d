// A read-only view of one agent's pane: xterm.js fed by the server's WebSocket.
// The page never sends anything on the socket and never asks for a size: the pane's size is the
// server's (tmux's) business, so a phone watching cannot shrink anyone's window.

const MIN_FONT = 7;
const MAX_FONT = 14;
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 10_000;
/** After a `gone`, a fleet event saying "running" reconnects, but not more often than this (the fleet view lags the pane). */
const GONE_RETRY_MS = 5_000;

let loading; // the xterm module, imported on first use so the fleet page does not load 350 kB it may never need
let xterm;

async function loadXterm() {
  loading ??= import('/vendor/xterm.mjs');
  try {
    xterm = await loading;
  } catch (error) {
    loading = undefined; // try again on the next connect
    throw error;
  }
}

/**
 * Watch `name` in `box`. `onStatus(state, text)` reports connecting | live | retrying | gone | closed.
 * Returns { close, reconnect, fleetState }.
 */
export function watchPane(box, name, onStatus) {
  let term = null;
  let socket = null;
  let closed = false;
  let retryMs = RETRY_FIRST_MS;
  let retryTimer = null;
  let gone = null; // { at, sawDown } once the server said the agent is not running or unknown
  let fleetSays = null; // the agent's state in the newest fleet event
  let firstFrame = true;
  let attempt = 0; // only the newest connect() may open a socket
  const resizeObserver = new ResizeObserver(() => fitFont());

  async function connect() {
    clearTimeout(retryTimer);
    const mine = ++attempt;
    gone = null;
    onStatus('connecting', 'connecting…');
    try {
      await loadXterm();
    } catch {
      onStatus('gone', 'could not load the terminal (/vendor/xterm.mjs)');
      gone = { at: Date.now(), sawDown: false };
      return;
    }
    if (closed || mine !== attempt) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/api/agents/${encodeURIComponent(name)}/terminal`);
    socket = ws;
    firstFrame = true;
    let goneReason = null;
    ws.addEventListener('message', (event) => {
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return; // not ours to interpret
      }
      if (msg.type === 'screen') {
        retryMs = RETRY_FIRST_MS;
        showScreen(msg);
        onStatus('live', `live, ${msg.cols}×${msg.rows}`);
      } else if (msg.type === 'gone') {
        goneReason = msg.reason || 'the agent is gone';
      }
    });
    ws.addEventListener('close', (event) => {
      if (socket !== ws || closed) return;
      socket = null;
      if (goneReason !== null || event.code === 4001 || event.code === 4004) {
        const why = goneReason ?? (event.reason || (event.code === 4004 ? 'no such agent' : 'the agent is not running'));
        gone = { at: Date.now(), sawDown: fleetSays !== null && fleetSays !== 'running' };
        onStatus('gone', why);
        return;
      }
      const wait = retryMs;
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      onStatus('retrying', `connection lost; retrying in ${(wait / 1000).toFixed(1)} s`);
      retryTimer = setTimeout(connect, wait);
    });
  }

  function showScreen({ cols, rows, data }) {
    if (!term) {
      term = new xterm.Terminal({
        cols,
        rows,
        disableStdin: true,
        convertEol: false,
        scrollback: 0,
        cursorBlink: false,
        cursorInactiveStyle: 'block',
        fontSize: MAX_FONT,
        fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace',
      });
      term.open(box);
      window.mosaicTerm = term;
      resizeObserver.observe(box);
    } else if (firstFrame) {
      term.reset(); // a new connection starts from a whole frame; drop what the last one left
    }
    firstFrame = false;
    if (term.cols !== cols || term.rows !== rows) {
      term.resize(cols, rows);
      fitFont();
    }
    term.write(data);
  }

  /** The largest font (up to MAX_FONT) at which the pane's columns fit the box; below MIN_FONT the box scrolls. */
  function fitFont() {
    const screen = term?.element?.querySelector('.xterm-screen');
    if (!screen) return;
    const available = box.clientWidth;
    const width = screen.getBoundingClientRect().width;
    if (!available || !width) return;
    const size = term.options.fontSize;
    const next = Math.max(MIN_FONT, Math.min(MAX_FONT, Math.floor(((size * available) / width) * 2) / 2));
    if (next !== size) term.options.fontSize = next;
  }

  function close() {
    closed = true;
    clearTimeout(retryTimer);
    resizeObserver.disconnect();
    if (socket) socket.close(1000, 'panel closed');
    socket = null;
    term?.dispose();
    term = null;
    window.mosaicTerm = null;
  }

  function reconnect() {
    if (closed) return;
    if (socket) socket.close(1000, 'reconnect');
    socket = null;
    retryMs = RETRY_FIRST_MS;
    connect();
  }

  /** The fleet's view of this agent changed: after a `gone`, come back once it is running again. */
  function fleetState(state) {
    fleetSays = state;
    if (!gone || closed) return;
    if (state !== 'running') gone.sawDown = true;
    else if (gone.sawDown || Date.now() - gone.at >= GONE_RETRY_MS) reconnect();
  }

  connect();
  return { close, reconnect, fleetState };
}
