import { describe, it } from 'vitest';
import { realRuntimeFlow } from './runtime-flow.js';

describe('real pi, offline against the fake model', () => {
  it('acknowledges through its own hook, reports busy/idle, resets verified, shows no drift', async () => {
    await realRuntimeFlow('pi', { permission: false, reset: 'new' });
  }, 180_000);
});
