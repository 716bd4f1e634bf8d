import { readFile } from 'node:fs/promises';
import { heartbeatFile } from '../heartbeat/heartbeat.js';
import type { AckSource } from '../runtimes/detectors/types.js';

/**
 * Evidence from the runtime itself: the prompt hook mosaic installs per agent
 * (framework/bin/mosaic-report --ack) writes `ack=<send id>` into `<run dir>/<agent>.hb.status`
 * when the runtime submits a prompt carrying our preamble's `#<send id>`. Stronger than any
 * screen: the runtime has handed the prompt to its model loop.
 */
export function hookAck(runDir: string, agent: string): AckSource {
  const file = `${heartbeatFile(runDir, agent)}.status`;
  return {
    name: 'runtime hook',
    async check(send) {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (!text) return undefined;
      const fields = Object.fromEntries(
        text
          .trim()
          .split(/\s+/)
          .map((field) => [field.slice(0, field.indexOf('=')), field.slice(field.indexOf('=') + 1)]),
      );
      if (fields.ack !== send.sendId) return undefined;
      return { kind: 'accepted', detail: `the runtime acknowledged send #${send.sendId}${fields.status ? ` (now ${fields.status})` : ''}` };
    },
  };
}
