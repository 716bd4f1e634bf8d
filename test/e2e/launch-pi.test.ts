import { describe, it } from 'vitest';
import { launchFlow } from './launch-flow.js';

describe('launching real pi (fake model)', () => {
  it('yolo and safe, model, persona, kickstart, resume after kill -9, reset', () => launchFlow('pi', { gates: false }), 300_000);
});
