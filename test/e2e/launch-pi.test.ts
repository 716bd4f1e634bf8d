import { describe, it } from 'vitest';
import { launchFlow } from './launch-flow.js';

describe('launching real pi (fake model)', () => {
  it(
    'yolo and safe, model, persona, kickstart, resume after kill -9 and fleet restart, reset',
    () => launchFlow('pi', { gates: false, fleetRestart: true }),
    300_000,
  );
});
