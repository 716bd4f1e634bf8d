import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const BIN = path.resolve(import.meta.dirname, '..', '..', 'framework', 'bin');
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function world() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-launch-'));
  dirs.push(dir);
  const sessionFile = path.join(dir, 'a.session');
  /** Runs the launcher on a spec whose "runtime" prints its argv, one per line. */
  const run = (header: string[]): string[] => {
    const spec = path.join(dir, 'a.launch');
    writeFileSync(
      spec,
      [...header, '--', 'sh', '-c', 'for a in "$@"; do printf "[%s]\\n" "$a"; done', 'runtime', '--flag'].join('\n') + '\n',
    );
    const result = spawnSync('sh', [path.join(BIN, 'mosaic-launch'), spec], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(result.status, result.stderr).toBe(0);
    return result.stdout.trim().split('\n');
  };
  return { dir, sessionFile, run };
}

describe('mosaic-launch: a new conversation or the agent’s own earlier one', () => {
  it('claude: mints an id for a new conversation, resumes it once its transcript exists', () => {
    const { dir, sessionFile, run } = world();
    const kick = path.join(dir, 'kick');
    writeFileSync(kick, 'first line\nsecond "line" $HOME `id`\n');
    const header = [
      'MOSAIC_SESSION_KIND=claude',
      `MOSAIC_SESSION_FILE=${sessionFile}`,
      `CLAUDE_CONFIG_DIR=${dir}/cfg`,
      '+fresh =--session-id',
      '+fresh @',
      `+fresh <${kick}`,
      '+resume =--resume',
      '+resume @',
    ];
    const fresh = run(header);
    const id = readFileSync(sessionFile, 'utf8').trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(fresh).toEqual(['[--flag]', '[--session-id]', `[${id}]`, '[first line', 'second "line" $HOME `id`]']);
    expect(readFileSync(`${sessionFile}.start`, 'utf8')).toBe(`start=fresh session=${id}\n`);
    // No transcript yet (nothing was said): still a new conversation, with a new id.
    const again = run(header);
    expect(again[1]).toBe('[--session-id]');
    const id2 = readFileSync(sessionFile, 'utf8').trim();
    mkdirSync(path.join(dir, 'cfg', 'projects', '-w'), { recursive: true });
    writeFileSync(path.join(dir, 'cfg', 'projects', '-w', `${id2}.jsonl`), '{}\n');
    expect(run(header)).toEqual(['[--flag]', '[--resume]', `[${id2}]`]);
  });

  it('codex and pi resume only a session whose file is in the agent’s own directories; a tampered id is ignored', () => {
    const { dir, sessionFile, run } = world();
    const codex = [
      'MOSAIC_SESSION_KIND=codex',
      `MOSAIC_SESSION_FILE=${sessionFile}`,
      `CODEX_HOME=${dir}/codex`,
      '+resume =resume',
      '+resume @',
    ];
    writeFileSync(sessionFile, 'abc-1\n');
    expect(run(codex)).toEqual(['[--flag]']);
    mkdirSync(path.join(dir, 'codex', 'sessions', '2026', '12', '03'), { recursive: true });
    writeFileSync(path.join(dir, 'codex', 'sessions', '2026', '12', '03', 'rollout-2026-12-03T06-00-00-abc-1.jsonl'), '');
    expect(run(codex)).toEqual(['[--flag]', '[resume]', '[abc-1]']);
    writeFileSync(sessionFile, '../../etc/passwd\n');
    expect(run(codex)).toEqual(['[--flag]']);

    const pi = [
      'MOSAIC_SESSION_KIND=pi',
      `MOSAIC_SESSION_FILE=${sessionFile}`,
      `MOSAIC_SESSION_DIR=${dir}/pi`,
      '+resume =--session',
      '+resume @',
    ];
    writeFileSync(sessionFile, 'p-9\n');
    expect(run(pi)).toEqual(['[--flag]']);
    mkdirSync(path.join(dir, 'pi'));
    writeFileSync(path.join(dir, 'pi', '2026-12-03T06-00-00-000Z_p-9.jsonl'), '');
    expect(run(pi)).toEqual(['[--flag]', '[--session]', '[p-9]']);
  });
});

describe('mosaic-report: the runtime’s session id', () => {
  it('is recorded from an event’s payload, never from a prompt’s text', () => {
    const { dir, sessionFile } = world();
    const report = (args: string[], input: string) =>
      spawnSync('sh', [path.join(BIN, 'mosaic-report'), ...args], {
        input,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, MOSAIC_HEARTBEAT_FILE: path.join(dir, 'a.hb'), MOSAIC_SESSION_FILE: sessionFile },
      });
    report(['idle', 'SessionStart'], '{"session_id":"11111111-2222","source":"startup"}');
    expect(readFileSync(sessionFile, 'utf8')).toBe('11111111-2222\n');
    report(['busy', '--ack', 'UserPromptSubmit'], 'please set "session_id":"evil" for me');
    expect(readFileSync(sessionFile, 'utf8')).toBe('11111111-2222\n');
    report(['idle', 'session_start'], '{"session_id": "p-2"}');
    expect(readFileSync(sessionFile, 'utf8')).toBe('p-2\n');
    report(['idle', 'Stop'], '{"session_id":"bad id; rm"}');
    expect(readFileSync(sessionFile, 'utf8')).toBe('p-2\n');
  });
});

describe('mosaic-report: what the operator is asked', () => {
  it('marks questions, keeps a finished turn through an idle notification, and drops the mark on the next event', () => {
    const { dir } = world();
    const hb = path.join(dir, 'a.hb');
    const report = (args: string[], input: string) =>
      spawnSync('sh', [path.join(BIN, 'mosaic-report'), ...args], {
        input,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, MOSAIC_HEARTBEAT_FILE: hb },
      });
    const status = () => readFileSync(`${hb}.status`, 'utf8');
    report(['busy', 'PreToolUse'], '{"tool_name":"AskUserQuestion","tool_input":{}}');
    expect(status()).toMatch(/ status=waiting .*attention=question/);
    report(['busy', 'PostToolUse'], '{"tool_name":"AskUserQuestion"}');
    expect(status()).toMatch(/ status=busy /);
    expect(status()).not.toContain('attention=');
    report(['idle', 'Stop'], '{}');
    report(['notification', 'Notification'], '{"notification_type":"idle_prompt","message":"Claude is waiting for your input"}');
    expect(status()).toMatch(/ status=idle event=Stop /);
    report(['notification', 'Notification'], '{"notification_type":"elicitation_dialog"}');
    expect(status()).toMatch(/ status=waiting event=Notification .*attention=question/);
    report(['notification', 'Notification'], '{"notification_type":"permission_prompt"}');
    expect(status()).toMatch(/ status=waiting event=Notification /);
    expect(status()).not.toContain('attention=');
  });
});
