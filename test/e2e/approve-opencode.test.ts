import { describe, it } from 'vitest';
import { approvalFlow } from './approve-flow.js';

describe('approve and deny a permission request without typing into the pane', () => {
  it('opencode: deny, then approve, through `mosaic agent deny|approve`; an answer in the pane clears the request', async () => {
    await approvalFlow('opencode');
  }, 180_000);
});
