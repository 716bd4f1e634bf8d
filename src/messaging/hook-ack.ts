import { readFile } from 'node:fs/promises';
import { heartbeatFile, parseFields } from '../heartbeat/heartbeat.js';
import type { AckSource } from '../runtimes/detectors/types.js';
import { readFileIfReadable } from '../system/fs.js';

/**
 * Evidence from the runtime itself: the prompt hook mosaic installs per agent
 * (framework/bin/mosaic-report --ack) writes `ack=<send id>` into `<run dir>/<agent>.hb.status`
 * when the runtime submits a prompt carrying our preamble's `#<send id>`. Stronger than any
 * screen: the runtime has handed the prompt to its model loop.
 */
export function hookAck(runDir: string, agent: string): AckSource {
  const file = `${heartbeatFile(runDir, agent)}.status`;
  // Taken before the paste: a runtime that was mid-turn takes the prompt into its queue (pi
  // reports the input at once), so its acknowledgement then means "queued", not "accepted".
  const before = parseFields(readFileIfReadable(file) ?? '');
  const busyBefore = before.status === 'busy' || before.status === 'waiting';
  return {
    name: 'runtime hook',
    async check(send) {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (!text) return undefined;
      const fields = parseFields(text);
      if (fields.ack !== send.sendId) return undefined;
      const now = fields.status ? ` (now ${fields.status})` : '';
      return busyBefore
        ? { kind: 'queued', detail: `the runtime acknowledged send #${send.sendId} during its current turn${now}` }
        : { kind: 'accepted', detail: `the runtime acknowledged send #${send.sendId}${now}` };
    },
  };
}
