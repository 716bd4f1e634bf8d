import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { sleepUnlessAborted } from './wait.js';

describe('sleepUnlessAborted', () => {
  it('leaves no listener on the signal after each sleep (a watch loop sleeps on one signal for hours)', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 20; i++) await sleepUnlessAborted(1, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  // Either sleep left to its timer (10 minutes) would run into the test's timeout.
  it('ends on abort, and at once when already aborted', async () => {
    const controller = new AbortController();
    const sleeping = sleepUnlessAborted(600_000, controller.signal);
    controller.abort();
    await sleeping;
    await sleepUnlessAborted(600_000, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
