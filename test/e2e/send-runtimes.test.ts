import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startFakeModel, type FakeModel } from '../fake-model/server.mjs';
import { createFleet, ROOT, roster, type TestFleet } from './harness.js';

/**
 * `agent send --verify` against the real runtimes (pinned devDependencies), offline against
 * the fake model server: the model must receive exactly the message the verdict was about.
 */
type Runtime = 'claude' | 'codex' | 'pi' | 'opencode';

const bin = (name: string): string => path.join(ROOT, 'node_modules', '.bin', name);

/** The roster `runtimes:` entry that runs `runtime` against `model`, with a private HOME. */
function runtimeEntry(runtime: Runtime, model: FakeModel, dir: string): string {
  const seed = path.join(dir, 'seed');
  const home = path.join(dir, 'agent-home');
  mkdirSync(seed, { recursive: true });
  mkdirSync(home, { recursive: true });
  const env = (vars: Record<string, string>): string =>
    Object.entries({ HOME: home, ...vars })
      .map(([key, value]) => `      ${key}: ${JSON.stringify(value)}\n`)
      .join('');
  const head = `  ${runtime}:\n    command: [${JSON.stringify(bin(runtime))}]\n    seed_dir: ${JSON.stringify(seed)}\n    env:\n`;
  switch (runtime) {
    case 'claude':
      return `  claude:\n    command: [${JSON.stringify(bin('claude'))}]\n    env:\n${env({
        ANTHROPIC_BASE_URL: model.url,
        ANTHROPIC_API_KEY: 'sk-ant-api03-mosaic-send-test-0123456789',
        ANTHROPIC_MODEL: 'claude-fake',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_ERROR_REPORTING: '1',
      })}`;
    case 'codex':
      writeFileSync(
        path.join(seed, 'config.toml'),
        `model = "fake-model"\nmodel_provider = "fake"\napproval_policy = "never"\nsandbox_mode = "read-only"\n\n` +
          `[model_providers.fake]\nname = "Fake"\nbase_url = "${model.url}/v1"\nenv_key = "FAKE_API_KEY"\nwire_api = "responses"\n\n` +
          `[analytics]\nenabled = false\n`,
      );
      return head + env({ FAKE_API_KEY: 'fake' });
    case 'pi':
      writeFileSync(
        path.join(seed, 'models.json'),
        JSON.stringify({
          providers: {
            fake: {
              baseUrl: `${model.url}/v1`,
              api: 'openai-completions',
              apiKey: 'FAKE',
              compat: { supportsDeveloperRole: false, supportsReasoningEffort: false },
              models: [{ id: 'fake-model', name: 'Fake Model', reasoning: false, contextWindow: 128000, maxTokens: 4096 }],
            },
          },
        }),
      );
      writeFileSync(path.join(seed, 'settings.json'), JSON.stringify({ defaultProvider: 'fake', defaultModel: 'fake-model' }));
      return head + env({ PI_OFFLINE: '1' });
    case 'opencode':
      writeFileSync(
        path.join(seed, 'opencode.json'),
        JSON.stringify({
          $schema: 'https://opencode.ai/config.json',
          model: 'fake/fake-model',
          small_model: 'fake/fake-model',
          autoupdate: false,
          share: 'disabled',
          provider: {
            fake: {
              npm: '@ai-sdk/openai-compatible',
              name: 'Fake',
              options: { baseURL: `${model.url}/v1`, apiKey: 'fake' },
              models: { 'fake-model': { name: 'Fake Model' } },
            },
          },
        }),
      );
      return head + env({ OPENCODE_DISABLE_MODELS_FETCH: '1', OPENCODE_DISABLE_LSP_DOWNLOAD: '1', OPENCODE_DISABLE_SHARE: '1' });
  }
}

interface SendResult {
  status: string;
  detail: string;
  send_id: string;
}

async function send(fleet: TestFleet, message: string, timeoutMs: number): Promise<SendResult> {
  const run = await fleet.mosaic(['agent', 'send', 'r0', '--verify', '--verify-timeout', String(timeoutMs), '--json', '-m', message]);
  expect(run.stdout, run.stderr).not.toBe('');
  return JSON.parse(run.stdout) as SendResult;
}

describe.each<Runtime>(['pi', 'claude', 'codex', 'opencode'])('agent send to the real %s TUI (fake model)', (runtime) => {
  it('accepted; a message sent during a busy turn is queued; the model gets both, exactly', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const model = await startFakeModel({ rules: [{ match: 'hold the line', name: 'hold', holdUntil: held }] });
    onTestFinished(async () => {
      release();
      await model.close();
    });
    const fleet = createFleet();
    fleet.writeRoster(
      roster(
        fleet.socket,
        `runtimes:\n${runtimeEntry(runtime, model, fleet.dir)}agents:\n  - name: r0\n    runtime: ${runtime}\n    working_directory: work\n`,
      ),
    );
    const started = await fleet.mosaic(['fleet', 'start']);
    expect(started.status, started.stderr).toBe(0);

    // The first send also waits (readiness gate) for the TUI to come up.
    const first = await send(fleet, 'please hold the line', 120_000);
    expect(first.status, first.detail).toBe('accepted');
    const turn = await model.waitForRequest((entry) => !entry.isTitle && entry.lastUserText.includes(`#${first.send_id}]`), 30_000);
    expect(turn.lastUserText).toContain(`-> r0 #${first.send_id}] please hold the line`);

    // The model holds its reply: the runtime is busy, and queues what we send now.
    const second = await send(fleet, 'second message, after the turn', 20_000);
    expect(second.status, second.detail).toBe('queued');
    release();
    const next = await model.waitForRequest((entry) => !entry.isTitle && entry.lastUserText.includes(`#${second.send_id}]`), 30_000);
    expect(next.lastUserText).toContain('second message, after the turn');
  }, 240_000);
});
