import { describe, it } from 'vitest';
import { approvalFlow, timeoutFlow } from './approve-flow.js';

// opencode's flow is the slowest to boot: test/e2e/approve-opencode.test.ts runs it in parallel.
describe('approve and deny a permission request without typing into the pane', () => {
  for (const runtime of ['claude', 'codex'] as const) {
    it(`${runtime}: deny, then approve, through \`mosaic agent deny|approve\`; an answer in the pane clears the request`, async () => {
      await approvalFlow(runtime);
    }, 180_000);
  }

  it('codex: an unanswered request times out and codex shows its own prompt', async () => {
    await timeoutFlow();
  }, 180_000);
});
