import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureScreen, CLI, createFleet, eventually, readSendTrace, roster, type TestFleet } from './harness.js';

interface SendResult {
  tenant_id: string;
  host: string;
  agent: string;
  status: string;
  detail: string;
  bytes: number;
  duration_ms: number;
  send_id: string;
}

interface AgentDef {
  name: string;
  runtime?: string;
  class?: string;
  args?: string[];
}

/** Stub agents a, b (class crew) and c (class solo), plus `extra`; every stub records its messages under <dir>/rec-<agent>/. */
function stubFleet(
  extra: AgentDef[] = [],
  runtimes = '',
): { fleet: TestFleet; recorded: (agent: string) => string[]; record: (agent: string, seq: number) => Buffer } {
  const fleet = createFleet();
  const rec = (agent: string): string => path.join(fleet.dir, `rec-${agent}`);
  const defs: AgentDef[] = [{ name: 'a', class: 'crew' }, { name: 'b', class: 'crew' }, { name: 'c', class: 'solo' }, ...extra];
  const entries = defs.map((def) => {
    const runtime = def.runtime ?? 'stub';
    let args = def.args ?? [];
    if (runtime === 'stub') {
      mkdirSync(rec(def.name));
      args = [...args, '--record-dir', rec(def.name)];
    }
    return `  - name: ${def.name}\n    runtime: ${runtime}\n${def.class ? `    class: ${def.class}\n` : ''}    args: ${JSON.stringify(args)}\n`;
  });
  fleet.writeRoster(roster(fleet.socket, `defaults:\n  working_directory: work\nagents:\n${entries.join('')}${runtimes}`));
  return {
    fleet,
    recorded: (agent) => (existsSync(rec(agent)) ? readdirSync(rec(agent)).sort((x, y) => parseInt(x) - parseInt(y)) : []),
    record: (agent, seq) => readFileSync(path.join(rec(agent), `${seq}.msg`)),
  };
}

const sha = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const seqOf = (result: SendResult): number => Number(/seq=(\d+)/.exec(result.detail)?.[1]);

async function sendJson(
  fleet: TestFleet,
  args: string[],
  input?: string,
): Promise<{ status: number | null; result: SendResult; stderr: string }> {
  const run = await fleet.mosaic(['agent', 'send', ...args, '--json'], { input });
  expect(run.stdout, run.stderr).not.toBe('');
  return { status: run.status, result: JSON.parse(run.stdout) as SendResult, stderr: run.stderr };
}

const HOSTILE: { name: string; body: string; via: 'message' | 'file' | 'stdin'; preamble?: boolean }[] = [
  { name: 'command substitution', body: '$(touch /tmp/mosaic-pwned) and ${HOME}', via: 'message' },
  { name: 'backticks and quotes', body: '`id` \'single\' "double" \\"escaped\\"', via: 'message' },
  { name: 'shell operators', body: 'a; rm -rf ~ && echo done || true | cat > /dev/null &', via: 'stdin' },
  { name: 'leading dashes', body: '-n --help -- -x', via: 'message', preamble: false },
  { name: 'tabs', body: 'col1\tcol2\t\tcol4\t', via: 'file' },
  { name: 'unicode', body: 'ünïcödé — 日本語 — עברית — 🎉👩‍💻 — e\u0301', via: 'stdin' },
  { name: 'tmux syntax', body: '#{pane_id} #(echo hi) ; \\; {braces} ~ !! %s %n', via: 'message' },
  { name: 'multi-line with blank lines and trailing newline', body: 'line one\n\n  indented line three\nlast line\n', via: 'file' },
  { name: 'backslash at the end', body: 'ends with a backslash \\', via: 'stdin', preamble: false },
  {
    name: '100 KB',
    body: Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(4, '0')} ${'x'.repeat(94)}`).join('\n'),
    via: 'file',
  },
  { name: '100 KB on one line', body: 'y'.repeat(100 * 1024), via: 'stdin' },
];

describe('agent send on real tmux with the stub agent', () => {
  it('delivers a hostile corpus byte-for-byte, one submission each', async () => {
    const { fleet, record, recorded } = stubFleet();
    expect((await fleet.mosaic(['fleet', 'start', 'a'])).status).toBe(0);
    let expectedSeq = 0;
    for (const item of HOSTILE) {
      const args = ['a', '--verify', '--source-label', 'test-src', ...(item.preamble === false ? ['--no-preamble'] : [])];
      let input: string | undefined;
      if (item.via === 'message') args.push(`--message=${item.body}`);
      if (item.via === 'file') {
        const file = path.join(fleet.dir, 'body.txt');
        writeFileSync(file, item.body);
        args.push('--file', file);
      }
      if (item.via === 'stdin') input = item.body;
      const { status, result, stderr } = await sendJson(fleet, args, input);
      expect(status, `${item.name}: ${stderr}`).toBe(0);
      expect(result.send_id).toMatch(/^[0-9a-f]{8}$/);
      const text = item.preamble === false ? item.body : `[test-src -> a #${result.send_id}] ${item.body}`;
      expect(result.status, `${item.name}: ${result.detail}`).toBe('accepted');
      expect(result.bytes, item.name).toBe(Buffer.byteLength(text));
      expectedSeq++;
      expect(seqOf(result), item.name).toBe(expectedSeq);
      const got = record('a', expectedSeq);
      expect(sha(got), item.name).toBe(sha(text));
      expect(got.toString('utf8'), item.name).toBe(text);
    }
    // One submission per message: no extra pieces from multi-line bodies.
    expect(recorded('a')).toHaveLength(HOSTILE.length);
    expect(existsSync('/tmp/mosaic-pwned')).toBe(false);
  });

  it('a lost first Enter is retried (Enter only): accepted, one message', async () => {
    const { fleet, recorded } = stubFleet([{ name: 'dropper', args: ['--drop-first-enter'] }]);
    expect((await fleet.mosaic(['fleet', 'start', 'dropper'])).status).toBe(0);
    const traceFile = path.join(fleet.dir, 'send-trace.jsonl');
    const run = await fleet.mosaic(['agent', 'send', 'dropper', '--verify', '--json', '-m', 'please do not lose me'], {
      env: { ...fleet.env, MOSAIC_SEND_TRACE: traceFile },
    });
    const result = JSON.parse(run.stdout) as SendResult;
    expect(run.status).toBe(0);
    expect(result.status).toBe('accepted');
    expect(result.detail).toMatch(/Enter pressed [2-4] times/);
    // The trace says why: the draft stayed after the first Enter, and the retried Enter was taken.
    const steps = readSendTrace(traceFile);
    expect(steps.every((step) => step.agent === 'dropper')).toBe(true);
    expect(steps.filter((step) => step.step === 'enter').length).toBeGreaterThanOrEqual(2);
    expect(steps.some((step) => step.observation?.kind === 'draft')).toBe(true);
    expect(steps.at(-1)?.observation?.kind).toBe('accepted');
    expect(steps.at(-1)?.screen?.some((line) => line.includes('[stub] ack'))).toBe(true);
    expect(recorded('dropper')).toEqual(['1.msg']);
    expect(readFileSync(path.join(fleet.dir, 'rec-dropper', '1.msg'), 'utf8')).toMatch(/\] please do not lose me$/);
    expect(recorded('a')).toEqual([]);
  });

  it('a MOSAIC_SEND_TRACE that cannot be appended to is refused before anything is typed (was exit 70 after the paste)', async () => {
    const { fleet, recorded } = stubFleet();
    expect((await fleet.mosaic(['fleet', 'start', 'a'])).status).toBe(0);
    for (const trace of [fleet.dir, path.join(fleet.dir, 'no-such-dir', 'trace.jsonl')]) {
      const run = await fleet.mosaic(['agent', 'send', 'a', '--verify', '-m', 'never typed'], {
        env: { ...fleet.env, MOSAIC_SEND_TRACE: trace },
      });
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr).toContain(`MOSAIC_SEND_TRACE=${trace}`);
      expect(run.stderr).toMatch(/nothing was sent/);
    }
    expect(recorded('a')).toEqual([]);
    expect(captureScreen(fleet, 'a').lines.join('\n')).not.toContain('never typed');
  });

  it('a lock left by a dead sender does not block the next send', async () => {
    const { fleet, record } = stubFleet();
    expect((await fleet.mosaic(['fleet', 'start', 'a'])).status).toBe(0);
    const dead = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(path.join(fleet.home, 'run', 'send-a.lock'), `${dead} 1 deadbeef\n`);
    const { status, result } = await sendJson(fleet, ['a', '--verify', '-m', 'after a crash']);
    expect(status).toBe(0);
    expect(result.status).toBe('accepted');
    expect(record('a', 1).toString()).toMatch(/\] after a crash$/);
    expect(existsSync(path.join(fleet.home, 'run', 'send-a.lock'))).toBe(false);
  });

  it('does not type into a pane that someone scrolls (copy mode)', async () => {
    const { fleet, recorded } = stubFleet();
    expect((await fleet.mosaic(['fleet', 'start', 'a'])).status).toBe(0);
    await eventually(() => (fleet.tmux(['capture-pane', '-p', '-t', '=a:0.0']).stdout.includes('stub>') ? true : undefined));
    expect(fleet.tmux(['copy-mode', '-t', '=a:0.0']).status).toBe(0);
    const blocked = await sendJson(fleet, ['a', '--verify', '--verify-timeout', '600', '-m', 'not now']);
    expect(blocked.status).toBe(1);
    expect(blocked.result.status).toBe('unverifiable');
    expect(blocked.result.detail).toMatch(/nothing was sent.*copy mode/);
    expect(recorded('a')).toEqual([]);
    expect(fleet.tmux(['send-keys', '-t', '=a:0.0', '-X', 'cancel']).status).toBe(0);
    const { status, result } = await sendJson(fleet, ['a', '--verify', '-m', 'now']);
    expect(status).toBe(0);
    expect(result.status).toBe('accepted');
    expect(recorded('a')).toEqual(['1.msg']);
  });

  it('a pane that never submits is a draft; a blank pane is unverifiable (exit 1, JSON says why)', async () => {
    const { fleet } = stubFleet(
      [
        { name: 'catdraft', runtime: 'catdraft' },
        { name: 'blank', runtime: 'blank' },
        { name: 'ignorer', args: ['--ignore-enter'] },
      ],
      // cat with CR not mapped to newline: Enter never ends the line. The blank pane shows and echoes nothing.
      'runtimes:\n  catdraft:\n    command: ["sh", "-c", "stty -icrnl; echo cat is ready; exec cat"]\n  blank:\n    command: ["sh", "-c", "stty -echo; exec cat >/dev/null"]\n',
    );
    expect((await fleet.mosaic(['fleet', 'start', 'catdraft', 'blank', 'ignorer'])).status).toBe(0);
    const [cat, ignorer, blank] = await Promise.all([
      sendJson(fleet, ['catdraft', '--verify', '--verify-timeout', '5000', '-m', 'stuck in the input']),
      sendJson(fleet, ['ignorer', '--verify', '--verify-timeout', '5000', '-m', 'stuck in the stub']),
      sendJson(fleet, ['blank', '--verify', '--verify-timeout', '1000', '-m', 'into the void']),
    ]);
    for (const { status, result } of [cat, ignorer]) {
      expect(status).toBe(1);
      expect(result.status, result.detail).toBe('draft');
      expect(result.detail).toMatch(/still in the input/);
    }
    expect(blank.status).toBe(1);
    expect(blank.result.status).toBe('unverifiable');
    expect(blank.result.detail).toMatch(/shows nothing/);
    // The draft is still there: the body was pasted once, never resent.
    const screen = (await fleet.mosaic(['agent', 'tail', 'catdraft'])).stdout;
    expect(screen.match(/stuck in the input/g)).toHaveLength(1);
    // Text output says the same, on exit 1.
    const human = await fleet.mosaic(['agent', 'send', 'blank', '--verify', '--verify-timeout', '500', '-m', 'x']);
    expect(human.status).toBe(1);
    expect(human.stdout).toMatch(/^blank: unverifiable/);
  });

  it('refuses unknown agents and bad bodies with a clear error, sending nothing', async () => {
    const { fleet, recorded } = stubFleet();
    expect((await fleet.mosaic(['fleet', 'start', 'a'])).status).toBe(0);
    const unknown = await fleet.mosaic(['agent', 'send', 'nobody', '--verify', '-m', 'hi']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/agent "nobody" not in roster/);

    const nulFile = path.join(fleet.dir, 'nul.txt');
    writeFileSync(nulFile, 'before\u0000after');
    const latin1 = path.join(fleet.dir, 'latin1.txt');
    writeFileSync(latin1, Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    const refused: [string[], string | undefined, RegExp][] = [
      [['--file', nulFile], undefined, /NUL/],
      [['-m', 'colour \u001b[31mred'], undefined, /ESC/],
      [[], 'windows\r\nline endings', /CR/],
      [['-m', ''], undefined, /empty/],
      [[], '  \n\t\n', /empty/],
      [['--file', latin1], undefined, /not valid UTF-8/],
    ];
    for (const [args, input, message] of refused) {
      const run = await fleet.mosaic(['agent', 'send', 'a', '--verify', ...args], { input });
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toMatch(/nothing was sent/);
    }
    // Bytes that are not UTF-8 in the argument itself: node would read them as U+FFFD; refused the same way
    // (a real U+FFFD typed in UTF-8 is text like any other, and goes).
    for (const form of ['-m "$m"', '-m"$m"', '--message="$m"']) {
      const script = `m=$(printf "$1"); exec "$0" ${JSON.stringify(CLI)} agent send a --verify ${form}`;
      const argv = spawnSync('sh', ['-c', script, process.execPath, 'caf\\351'], {
        env: fleet.env,
        encoding: 'utf8',
      });
      expect(argv.status, `${form}: ${argv.stderr}`).toBe(1);
      expect(argv.stderr).toMatch(/the message from --message is not valid UTF-8; nothing was sent/);
    }
    // A name or label that quotes a control character is printed with it spelled out, not acting on the terminal.
    const label = await fleet.mosaic(['agent', 'send', 'a', '--source-label', 'esc\u001b[31m', '-m', 'x']);
    expect(label.status).toBe(2); // a bad option value: a usage error
    expect(label.stderr).toContain('"esc\\u001b[31m"');
    expect(label.stderr).not.toContain('\u001b');
    expect((await fleet.mosaic(['agent', 'send', 'a', '-m', 'x', '--file', nulFile])).status).toBe(2);
    expect((await fleet.mosaic(['agent', 'send', 'a', '--verify-timeout', 'soon', '-m', 'x'])).status).toBe(2);

    // Not running: a clear error too; with --json, the same record a broadcast gives, on stdout.
    const stopped = await fleet.mosaic(['agent', 'send', 'b', '-m', 'hello']);
    expect(stopped.status).toBe(1);
    expect(stopped.stderr).toMatch(/agent "b" is not running/);
    const stoppedJson = await fleet.mosaic(['agent', 'send', 'b', '-m', 'hello', '--json']);
    expect(stoppedJson.status).toBe(1);
    expect(JSON.parse(stoppedJson.stdout)).toMatchObject({
      agent: 'b',
      status: 'error',
      bytes: 0,
      detail: expect.stringMatching(/not running/),
    });

    // Nothing reached the agent: no record, and the input line is empty.
    expect(recorded('a')).toEqual([]);
    const screen = (await fleet.mosaic(['agent', 'tail', 'a'])).stdout.trimEnd().split('\n');
    expect(screen[screen.length - 1]).toBe('stub>');
  });

  it('a message over the cap is refused after reading just past it: a file or stdin that never ends is no hang', async () => {
    const { fleet, recorded } = stubFleet();
    expect((await fleet.mosaic(['fleet', 'start', 'a'])).status).toBe(0);
    // /dev/zero never ends: reading it whole would take all memory and never finish.
    for (const script of ['exec "$0" "$1" agent send a --file /dev/zero', 'exec "$0" "$1" agent send a < /dev/zero']) {
      const run = spawnSync('sh', ['-c', script, process.execPath, CLI], { env: fleet.env, encoding: 'utf8', timeout: 20_000 });
      expect(run.status, `${script}: ${run.stderr}`).toBe(1);
      expect(run.stderr).toMatch(/the message is more than the 1048576 bytes allowed; nothing was sent/);
    }
    expect(recorded('a')).toEqual([]);
  });

  it('broadcast: parallel, one line per agent, exit 1 if any failed; --class selects', async () => {
    const { fleet, recorded } = stubFleet();
    expect((await fleet.mosaic(['fleet', 'start', 'a', 'c'])).status).toBe(0);
    const all = await fleet.mosaic(['agent', 'broadcast', '--all', '--verify', '--json', '-m', 'all hands']);
    expect(all.status).toBe(1); // b is not running
    const rows = JSON.parse(all.stdout) as (SendResult & { hint?: string })[];
    expect(rows.map((r) => [r.agent, r.status])).toEqual([
      ['a', 'accepted'],
      ['b', 'error'],
      ['c', 'accepted'],
    ]);
    for (const row of rows) {
      expect(row.tenant_id).toBeTruthy();
      expect(row.host).toBeTruthy();
      expect(Object.keys(row)).toEqual(expect.arrayContaining(['tenant_id', 'host', 'agent', 'status', 'detail', 'bytes', 'duration_ms']));
    }
    expect(rows[1]!.detail).toMatch(/not running/);
    expect(readFileSync(path.join(fleet.dir, 'rec-a', '1.msg'), 'utf8')).toMatch(/^\[[^\]]+:operator -> a #[0-9a-f]{8}\] all hands$/);
    expect(readFileSync(path.join(fleet.dir, 'rec-c', '1.msg'), 'utf8')).toMatch(/^\[[^\]]+:operator -> c #[0-9a-f]{8}\] all hands$/);

    expect((await fleet.mosaic(['fleet', 'start', 'b'])).status).toBe(0);
    const crew = await fleet.mosaic(['agent', 'broadcast', '--class', 'crew', '--verify', '-m', 'crew only']);
    expect(crew.status, crew.stderr).toBe(0);
    expect(crew.stdout).toMatch(/^a: accepted/m);
    expect(crew.stdout).toMatch(/^b: accepted/m);
    expect(crew.stdout).not.toMatch(/^c:/m);
    expect(recorded('c')).toEqual(['1.msg']);

    const named = await fleet.mosaic(['agent', 'broadcast', 'b', 'c', '--verify', '--json', '-m', 'named']);
    expect(named.status).toBe(0);
    expect((JSON.parse(named.stdout) as SendResult[]).map((r) => r.agent)).toEqual(['b', 'c']);
    expect((await fleet.mosaic(['agent', 'broadcast', '-m', 'who?'])).status).toBe(2);
    expect((await fleet.mosaic(['agent', 'broadcast', '--all', 'a', '-m', 'both?'])).status).toBe(2);
  });

  it('without --verify it still submits (and says whether it saw acceptance)', async () => {
    const { fleet, record } = stubFleet();
    expect((await fleet.mosaic(['fleet', 'start', 'a'])).status).toBe(0);
    const run = await fleet.mosaic(['agent', 'send', 'a', '-m', 'fire and forget']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^a: (accepted|sent)/);
    expect(record('a', 1).toString()).toMatch(/\] fire and forget$/);
  });
});
