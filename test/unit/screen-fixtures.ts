import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeFor } from '../../src/messaging/deliver.js';
import type { MessageProbe, Screen } from '../../src/runtimes/detectors/types.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'screens');

/** A captured screen from test/fixtures/screens/<runtime>/<name>.txt. */
export function screen(name: string): Screen {
  const [header, ...lines] = readFileSync(path.join(FIXTURES, `${name}.txt`), 'utf8')
    .replace(/\n$/, '')
    .split('\n');
  const facts = Object.fromEntries([...header!.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
  return {
    lines: lines.map((line) => line.trimEnd()),
    width: facts.width ?? 80,
    height: lines.length,
    cursorY: facts.cursor_y ?? lines.length - 1,
    alternate: facts.alternate === 1,
    dead: false,
  };
}

export const blankScreen = (): Screen => ({ lines: Array(24).fill(''), width: 80, height: 24, cursorY: 0, alternate: false, dead: false });

/** The probe a delivery would have: `before` is the screen before the paste, `draft` the one with the draft seen. */
export function probe(text: string, before: Screen, draft?: Screen): MessageProbe {
  return { ...probeFor(text, before), draft };
}

export const MESSAGE = '[vm:operator -> coder0] please run the tests';
