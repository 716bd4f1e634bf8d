import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, onTestFinished } from 'vitest';
import { startFakeModel, type FakeModel } from '../fake-model/server.mjs';
import { createFleet, ROOT, type TestFleet } from './harness.js';

export type RealRuntime = 'claude' | 'codex' | 'pi' | 'opencode';

/** Pinned runtimes: devDependencies, and opencode in test/.runtimes (scripts/install-test-runtimes.mjs). */
const bin = (name: string): string =>
  name === 'opencode' ? path.join(ROOT, 'test', '.runtimes', 'node_modules', '.bin', name) : path.join(ROOT, 'node_modules', '.bin', name);

/** A fake model server for one test, closed in the test's finaliser. */
export async function fakeModel(options: Parameters<typeof startFakeModel>[0] = {}): Promise<FakeModel> {
  const model = await startFakeModel(options);
  onTestFinished(() => model.close());
  return model;
}

/**
 * The roster `runtimes:` entry that runs a pinned real runtime (from node_modules) offline
 * against the fake model: base URLs, fake keys, seeded config, no update checks, and a private
 * HOME so nothing is written to the real one.
 */
export function runtimeSection(runtime: RealRuntime, model: FakeModel, dir: string, options: { approvals?: boolean } = {}): string {
  const approvals = options.approvals ?? true;
  const seed = path.join(dir, 'seed', runtime);
  const home = path.join(dir, 'agent-home');
  // TMPDIR too: under systemd an agent gets the user manager's environment, not the test's (pi's
  // jiti cache and opencode otherwise write into /tmp).
  const tmp = path.join(dir, 'agent-tmp');
  for (const made of [seed, home, tmp]) mkdirSync(made, { recursive: true });
  const env = (vars: Record<string, string>): string =>
    Object.entries({ HOME: home, TMPDIR: tmp, ...vars })
      .map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`)
      .join('\n');
  switch (runtime) {
    case 'claude':
      return `  claude:\n    command: [${JSON.stringify(bin('claude'))}]\n    env:\n${env({
        ANTHROPIC_BASE_URL: model.url,
        ANTHROPIC_API_KEY: 'sk-ant-api03-mosaic-fake-key-0123456789',
        ANTHROPIC_MODEL: 'claude-fake',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_ERROR_REPORTING: '1',
      })}\n`;
    case 'codex':
      writeFileSync(
        path.join(seed, 'config.toml'),
        [
          'model = "fake-model"',
          'model_provider = "fake"',
          // on-request: shell commands that need escalation ask the operator (the "waiting" tests).
          `approval_policy = "${approvals ? 'on-request' : 'never'}"`,
          'sandbox_mode = "read-only"',
          '',
          '[model_providers.fake]',
          'name = "Fake"',
          `base_url = "${model.url}/v1"`,
          'env_key = "FAKE_API_KEY"',
          'wire_api = "responses"',
          '',
          '[analytics]',
          'enabled = false',
          '',
        ].join('\n'),
      );
      return `  codex:\n    command: [${JSON.stringify(bin('codex'))}]\n    seed_dir: ${JSON.stringify(seed)}\n    env:\n${env({ FAKE_API_KEY: 'fake' })}\n`;
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
              models: [
                { id: 'fake-model', name: 'Fake Model', reasoning: false, contextWindow: 128000, maxTokens: 4096 },
                { id: 'fake-model-b', name: 'Fake Model B', reasoning: false, contextWindow: 128000, maxTokens: 4096 },
              ],
            },
          },
        }),
      );
      writeFileSync(
        path.join(seed, 'settings.json'),
        JSON.stringify({ defaultProvider: 'fake', defaultModel: 'fake-model', quietStartup: true }),
      );
      return `  pi:\n    command: [${JSON.stringify(bin('pi'))}]\n    seed_dir: ${JSON.stringify(seed)}\n    env:\n${env({ PI_OFFLINE: '1' })}\n`;
    case 'opencode':
      writeFileSync(
        path.join(seed, 'opencode.json'),
        JSON.stringify({
          $schema: 'https://opencode.ai/config.json',
          model: 'fake/fake-model',
          small_model: 'fake/fake-model',
          autoupdate: false,
          share: 'disabled',
          ...(approvals ? { permission: { bash: 'ask', edit: 'ask' } } : {}),
          provider: {
            fake: {
              npm: '@ai-sdk/openai-compatible',
              name: 'Fake',
              options: { baseURL: `${model.url}/v1`, apiKey: 'fake' },
              models: { 'fake-model': { name: 'Fake Model' }, 'fake-model-b': { name: 'Fake Model B' } },
            },
          },
        }),
      );
      return `  opencode:\n    command: [${JSON.stringify(bin('opencode'))}]\n    seed_dir: ${JSON.stringify(seed)}\n    env:\n${env({
        OPENCODE_DISABLE_MODELS_FETCH: '1',
        OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
        OPENCODE_DISABLE_SHARE: '1',
      })}\n`;
  }
}

/** One agent `r1` of a pinned real runtime, offline against a fresh fake model, started (heartbeat every 2 s). */
export async function startOneRuntimeAgent(runtime: RealRuntime): Promise<{ model: FakeModel; fleet: TestFleet }> {
  const model = await fakeModel();
  const fleet = createFleet();
  fleet.writeRoster(
    `version: 1\ntransport: tmux\ntmux:\n  socket_name: ${fleet.socket}\nheartbeat:\n  interval_seconds: 2\n` +
      `defaults:\n  working_directory: work\nruntimes:\n${runtimeSection(runtime, model, fleet.dir)}agents:\n  - {name: r1, runtime: ${runtime}}\n`,
  );
  const started = await fleet.mosaic(['fleet', 'start']);
  expect(started.status, started.stderr).toBe(0);
  return { model, fleet };
}
