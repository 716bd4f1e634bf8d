import { CLAUDE, CODEX, GENERIC, OPENCODE, PI } from './runtimes.js';
import { screenDetector } from './screen-spec.js';
import { STUB_DETECTOR } from './stub.js';
import type { AcceptanceDetector } from './types.js';

const SCREEN_DETECTORS: Record<string, AcceptanceDetector> = Object.fromEntries(
  [PI, CLAUDE, CODEX, OPENCODE, GENERIC].map((spec) => [spec.runtime, screenDetector(spec)]),
);

/** The acceptance detector for a runtime; custom runtimes get the generic one. */
export function detectorFor(runtime: string): AcceptanceDetector {
  if (runtime === 'stub') return STUB_DETECTOR;
  return SCREEN_DETECTORS[runtime] ?? SCREEN_DETECTORS.generic!;
}

export type { AcceptanceDetector, AckSource, MessageProbe, Observation, PendingSend, Readiness, Screen, SubmitTiming } from './types.js';
