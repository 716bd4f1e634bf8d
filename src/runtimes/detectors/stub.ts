import { containsNeedle, isBlank } from './text.js';
import type { AcceptanceDetector, MessageProbe, Observation, Screen } from './types.js';
import { DEFAULT_TIMING } from './types.js';

/**
 * `[stub] ack seq=3 bytes=42 cksum=123` (done) and `[stub] working seq=3 …` (taken and busy with it, --slow-ms).
 * A message the stub reads from its queue (typed while it was busy, so already echoed) gets its line right
 * after the prompt, on the same row: `stub> [stub] working seq=3 …`.
 */
const LINE = /^(?:stub> ?)?\[stub\] (ack|working) seq=(\d+) bytes=(\d+) cksum=(\d+)/u;

interface StubLine {
  row: number;
  kind: 'ack' | 'working';
  seq: number;
  bytes: number;
  cksum: number;
}

function stubLines(screen: Screen): StubLine[] {
  return screen.lines.flatMap((line, row) => {
    const m = LINE.exec(line);
    return m ? [{ row, kind: m[1] as 'ack' | 'working', seq: Number(m[2]), bytes: Number(m[3]), cksum: Number(m[4]) }] : [];
  });
}

/**
 * The stub agent acknowledges each message with its byte length and POSIX checksum, so
 * acceptance is exact: an ack newer than anything on the screen before, with our numbers.
 */
export const STUB_DETECTOR: AcceptanceDetector = {
  runtime: 'stub',
  timing: { ...DEFAULT_TIMING, enterRetryMs: [200, 400, 800] },
  ready: (screen) =>
    screen.lines.some((line) => line.startsWith('stub> ') || line === 'stub>')
      ? { ready: true }
      : { ready: false, detail: isBlank(screen) ? 'the pane shows nothing' : 'no stub prompt on screen' },
  draftVisible: (screen, probe) => holdsDraft(screen, probe),
  classify(screen, probe): Observation {
    if (isBlank(screen)) return { kind: 'blank', detail: 'the pane shows nothing' };
    const baseline = Math.max(0, ...stubLines(probe.before).map((line) => line.seq));
    const fresh = stubLines(screen).filter((line) => line.seq > baseline);
    const mine = (line: StubLine): boolean => line.bytes === probe.bytes && line.cksum === probe.cksum;
    const ack = fresh.find((line) => line.kind === 'ack' && mine(line));
    if (ack) return { kind: 'accepted', detail: `stub ack seq=${ack.seq}, bytes and checksum match` };
    // A `working` line carries the same numbers: the stub took our exact text and is busy with it (--slow-ms).
    const working = fresh.find((line) => line.kind === 'working' && mine(line));
    if (working) return { kind: 'accepted', detail: `stub is working on it (seq=${working.seq}), bytes and checksum match` };
    if (holdsDraft(screen, probe)) {
      // Busy with an earlier message, the stub is not reading: what is typed waits in the terminal's
      // input. Once the Enter is echoed (the cursor left our text's row) the line is complete there,
      // and the stub reads it after its current message: queued, not a draft.
      const busy = busyWith(screen);
      if (busy !== undefined && enterEchoed(screen, probe)) {
        return { kind: 'queued', detail: `the stub is busy with seq=${busy}; the message waits in its input` };
      }
      return { kind: 'draft', detail: 'no acknowledgement; the text is still in the input' };
    }
    const other = fresh.find((line) => line.kind === 'ack');
    if (other) {
      return {
        kind: 'waiting',
        detail: `stub acknowledged a different body (seq=${other.seq} bytes=${other.bytes}, expected bytes=${probe.bytes})`,
      };
    }
    return { kind: 'waiting', detail: 'no acknowledgement yet' };
  },
};

/** Our text is echoed after the last acknowledgement: it has not been taken yet. */
function holdsDraft(screen: Screen, probe: MessageProbe): boolean {
  const lines = stubLines(screen);
  const from = lines.length > 0 ? lines[lines.length - 1]!.row + 1 : 0;
  const tail = screen.lines.slice(from);
  if (probe.needle !== undefined) return containsNeedle(tail, probe.needle);
  return tail.some((line) => line.replace(/^stub> ?/u, '').trim() !== '');
}

/** The seq of a message the stub is still working on (a `working` line with no later ack), else undefined. */
function busyWith(screen: Screen): number | undefined {
  const lines = stubLines(screen);
  const last = lines[lines.length - 1];
  return last?.kind === 'working' ? last.seq : undefined;
}

/** The cursor is below the last row holding our text: the terminal echoed the Enter. */
function enterEchoed(screen: Screen, probe: MessageProbe): boolean {
  const needle = probe.needle;
  let lastRow = -1;
  screen.lines.forEach((line, row) => {
    if (needle === undefined ? line.replace(/^stub> ?/u, '').trim() !== '' : containsNeedle([line], needle)) lastRow = row;
  });
  return lastRow >= 0 && screen.cursorY > lastRow;
}
