import { describe, expect, it } from 'vitest';
import { parseRoster } from '../roster/load.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { buildLaunchSpec, renderLaunchSpec } from './spec.js';
import { parseLaunchSpec } from './spec-read.js';
import { chooseModel, modelFromHint } from './model.js';
import { renderKickstart } from './kickstart.js';

const roster = (agentYaml: string) =>
  parseRoster(`version: 1\ntransport: tmux\ntenant_id: acme\nagents:\n${agentYaml}`, '/fleet/roster.yaml', {
    env: { HOME: '/home/u' },
    knownRuntimes: BUILTIN_RUNTIMES,
    defaultTenant: 'u',
  });

/** argv after the executable, and the fresh/resume sections, as the launcher will see them. */
function launch(runtime: string, mode: string, uid = 1000, extra = '') {
  const r = roster(`  - {name: a1, runtime: ${runtime}, mode: ${mode}, model: m-1${extra}}\n`);
  const spec = buildLaunchSpec(r, r.agents[0]!, {
    env: { PATH: '/usr/bin' },
    runDir: '/fleet/run',
    agentsDir: '/fleet/agents',
    runtimeBinDirs: [],
    identity: { uid, host: 'h', tenantId: 'acme' },
    persona: { file: '/fleet/persona.md', text: 'Be "careful".\nLine two.' },
    kickstart: '/fleet/run/a1.kickstart',
  });
  return { argv: spec.argv.slice(1), env: spec.env, fresh: spec.fresh, resume: spec.resume, spec };
}

const lit = (value: string) => ({ kind: 'literal', value });
const KICK = { kind: 'file', path: '/fleet/run/a1.kickstart' };
const SESSION = { kind: 'session' };

describe('the launch builder', () => {
  it('claude: yolo adds the bypass flag, the setting that skips its modal and, as root, IS_SANDBOX', () => {
    const yolo = launch('claude', 'yolo', 0);
    expect(yolo.argv).toEqual([
      '--dangerously-skip-permissions',
      '--settings',
      '{"skipDangerousModePermissionPrompt":true}',
      '--model',
      'm-1',
      '--append-system-prompt-file',
      '/fleet/persona.md',
    ]);
    expect(yolo.env.IS_SANDBOX).toBe('1');
    expect(yolo.fresh).toEqual([lit('--session-id'), SESSION, KICK]);
    expect(yolo.resume).toEqual([lit('--resume'), SESSION]);
    expect(launch('claude', 'yolo', 1000).env.IS_SANDBOX).toBeUndefined();
    const safe = launch('claude', 'safe', 0);
    expect(safe.argv).toEqual(['--model', 'm-1', '--append-system-prompt-file', '/fleet/persona.md']);
    expect(safe.env.IS_SANDBOX).toBeUndefined();
  });

  it('codex: yolo bypasses approvals and the sandbox; the persona is developer instructions (one TOML string)', () => {
    const yolo = launch('codex', 'yolo');
    expect(yolo.argv).toEqual([
      '--dangerously-bypass-approvals-and-sandbox',
      '-m',
      'm-1',
      '-c',
      'developer_instructions="Be \\"careful\\".\\nLine two."',
    ]);
    expect(yolo.fresh).toEqual([KICK]);
    expect(yolo.resume).toEqual([lit('resume'), SESSION]);
    expect(launch('codex', 'safe').argv).not.toContain('--dangerously-bypass-approvals-and-sandbox');
    expect(yolo.argv).not.toContain('--full-auto');
  });

  it('pi: no gates in either mode; its own session directory; resume by session id', () => {
    for (const mode of ['yolo', 'safe']) {
      const pi = launch('pi', mode);
      expect(pi.argv).toEqual([
        '--model',
        'm-1',
        '--append-system-prompt',
        '/fleet/persona.md',
        '--session-dir',
        '/fleet/agents/a1/pi/sessions',
      ]);
      expect(pi.fresh).toEqual([KICK]);
      expect(pi.resume).toEqual([lit('--session'), SESSION]);
      expect(pi.env.MOSAIC_SESSION_DIR).toBe('/fleet/agents/a1/pi/sessions');
    }
  });

  it('opencode: yolo allows every tool through its environment; the kickstart is --prompt, never on resume', () => {
    const yolo = launch('opencode', 'yolo');
    expect(yolo.argv).toEqual(['-m', 'm-1']);
    expect(yolo.env.OPENCODE_PERMISSION).toBe('{"*":"allow"}');
    expect(yolo.fresh).toEqual([lit('--prompt'), KICK]);
    expect(yolo.resume).toEqual([lit('--session'), SESSION]);
    expect(launch('opencode', 'safe').env.OPENCODE_PERMISSION).toBeUndefined();
  });

  it('the stub and custom runtimes get none of it, and no model flag', () => {
    const stub = launch('stub', 'yolo');
    expect(stub.argv).toEqual([expect.stringMatching(/mosaic-stub-agent$/)]); // sh <stub>: nothing added
    expect(stub.fresh).toEqual([]);
    expect(stub.env.MOSAIC_SESSION_KIND).toBe('none');
  });

  it('a model with spaces and shell characters stays one argument, and the spec line-encodes it', () => {
    const { spec } = launch('claude', 'safe');
    const r = roster(`  - {name: a1, runtime: claude, model: "opus; rm -rf / $(id)"}\n`);
    const odd = buildLaunchSpec(r, r.agents[0]!, { env: {}, runDir: '/run', runtimeBinDirs: [] });
    expect(odd.argv.slice(1)).toEqual(['--model', 'opus; rm -rf / $(id)']);
    expect(renderLaunchSpec(odd)).toContain('\n--model\nopus; rm -rf / $(id)\n');
    expect(renderLaunchSpec(spec)).toMatch(
      /^\+fresh =--session-id\n\+fresh @\n\+fresh <\/fleet\/run\/a1\.kickstart\n\+resume =--resume\n\+resume @\n--$/m,
    );
  });

  it('parseLaunchSpec reads back the environment and the argv, never an argument that looks like a variable', () => {
    const r = roster(`  - {name: a1, runtime: claude, args: ["MOSAIC_TMUX_SOCKET=evil", "+x"]}\n`);
    const spec = buildLaunchSpec(r, r.agents[0]!, { env: {}, runDir: '/run', runtimeBinDirs: [] });
    const read = parseLaunchSpec(renderLaunchSpec(spec));
    expect(read.env).toEqual(spec.env);
    expect(read.argv).toEqual(spec.argv);
    expect(parseLaunchSpec('A=1\n')).toEqual({ env: { A: '1' }, argv: null });
  });
});

describe('models and kickstarts', () => {
  it('resolves upstream model hints per runtime, and nothing it does not know', () => {
    expect(modelFromHint('claude', 'Claude Opus')).toBe('opus');
    expect(modelFromHint('claude', 'Sonnet 5')).toBe('sonnet');
    expect(modelFromHint('pi', 'Pi GPT-5.5')).toBe('openai-codex/gpt-5.5');
    expect(modelFromHint('codex', 'GPT-5.5')).toBe('gpt-5.5');
    expect(modelFromHint('opencode', 'gpt 5')).toBe('openai/gpt-5');
    expect(modelFromHint('codex', 'Claude Opus')).toBeNull();
    expect(modelFromHint('claude', 'the smart one')).toBeNull();
    const unknown = chooseModel({ name: 'a', runtime: 'claude', modelHint: 'the smart one' });
    expect(unknown.model).toBeNull();
    expect(unknown.warning).toMatch(/model_hint "the smart one" names no model mosaic knows for runtime "claude"/);
    expect(chooseModel({ name: 'a', runtime: 'claude', model: 'x', modelHint: 'Claude Opus' })).toEqual({ model: 'x', source: 'model' });
    expect(chooseModel({ name: 'a', runtime: 'stub', model: 'x' }).warning).toMatch(/takes no model flag/);
  });

  it('fills the kickstart variables (single or double braces) and leaves other braces alone', () => {
    const r = roster(
      `  - {name: k1, runtime: stub, class: crew, working_directory: /w, kickstart_template: "{agent}/{class}/{tenant_id}/{host}/{workdir} {{agent}} {other} {\\"json\\": 1}"}\n`,
    );
    expect(renderKickstart(r.agents[0]!, { tenantId: 'acme', host: 'h' })).toBe('k1/crew/acme/h//w k1 {other} {"json": 1}');
  });
});

describe('personas', () => {
  it("uses the roster's file, else the shipped persona of the agent's class, else none", async () => {
    const { personaFileFor } = await import('./persona.js');
    expect(personaFileFor({ personaFile: '/x/p.md', class: 'implementer' })).toBe('/x/p.md');
    expect(personaFileFor({ class: 'implementer' })).toMatch(/framework\/personas\/implementer\.md$/);
    expect(personaFileFor({ class: 'no-such-class' })).toBeUndefined();
    expect(personaFileFor({ class: '../../etc/passwd' })).toBeUndefined();
    expect(personaFileFor({})).toBeUndefined();
  });
});
