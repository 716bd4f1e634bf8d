import { describe, it } from 'vitest';
import { launchFlow } from './launch-flow.js';

describe('launching real codex (fake model)', () => {
  it('yolo and safe, model, persona, kickstart, resume after kill -9, reset', () => launchFlow('codex', { gates: true }), 300_000);
});
