// bench/ps-floor: the least a `fleet ps --json` in Node can do, for bench/ps.mjs to measure mosaic
// against. One tmux listing with the same fields, then per agent the same four reads mosaic makes
// (/proc/<pane pid>/stat and cmdline, <run>/<agent>.state.json and <run>/<agent>.hb) and one JSON
// record; no CLI framework, no roster, no checks. It imports nothing but node:child_process and node:fs.
// Run: node bench/ps-floor.mjs SOCKET RUN_DIR FIELDS_JSON   (bench/ps.mjs passes the build's PANE_FIELDS,
// so the floor lists exactly what mosaic lists without a copy of the list or an import of mosaic)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const [socket, runDir, fieldsJson] = process.argv.slice(2);
if (!socket || !runDir || !fieldsJson) {
  console.error('usage: node bench/ps-floor.mjs SOCKET RUN_DIR FIELDS_JSON (bench/ps.mjs runs it; it is not a bench of its own)');
  process.exit(2);
}
const FIELDS = JSON.parse(fieldsJson);
const listing = spawnSync(
  'tmux',
  ['-u', '-L', socket, '-f', '/dev/null', 'list-panes', '-a', '-F', FIELDS.map((f) => `#{${f}}`).join('\t')],
  {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  },
);
const col = Object.fromEntries(FIELDS.map((field, i) => [field, i]));
const read = (file) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};
const records = [];
for (const line of listing.stdout.split('\n')) {
  if (!line) continue;
  const row = line.split('\t');
  const [session, agent, pid] = [row[col.session_name], row[col['@mosaic_agent']], row[col.pane_pid]];
  const stat = read(`/proc/${pid}/stat`) ?? '';
  const argv = (read(`/proc/${pid}/cmdline`) ?? '').split('\0');
  const state = JSON.parse(read(`${runDir}/${agent}.state.json`) ?? 'null');
  const beat = read(`${runDir}/${agent}.hb`) ?? '';
  records.push({
    agent: agent || session,
    session,
    pane: row[col.pane_dead] === '1' ? 'dead' : 'alive',
    pane_id: row[col.pane_id],
    pane_pid: Number(pid),
    state: stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3),
    pane_command: argv.slice(0, 4).join(' '),
    current_command: row[col.pane_current_command],
    idle_seconds: Math.round(Date.now() / 1000 - Number(row[col.window_activity])),
    restarts: state?.restarts ?? null,
    heartbeat: beat.trim(),
  });
}
process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
