import { describe, it } from 'vitest';
import { realRuntimeFlow } from './runtime-flow.js';

describe('real opencode, offline against the fake model', () => {
  it('acknowledges through its own hook, reports busy/idle/waiting, resets verified, shows no drift', async () => {
    await realRuntimeFlow('opencode', { permission: true, reset: 'new' });
  }, 180_000);
});
