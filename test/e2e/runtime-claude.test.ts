import { describe, it } from 'vitest';
import { realRuntimeFlow } from './runtime-flow.js';

describe('real claude, offline against the fake model', () => {
  it('acknowledges through its own hook, reports busy/idle/waiting, resets verified, shows no drift', async () => {
    await realRuntimeFlow('claude', { permission: true, reset: 'clear' });
  }, 180_000);
});
