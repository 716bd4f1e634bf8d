import type { Command } from 'commander';
import { tracesEndpoint } from '../core/trace.js';

/** Where a verb's action lives: an export of a module under src/cli/commands/, named relative to this file. */
export interface VerbTarget {
  module: string;
  name: string;
}

type Action = (command: Command) => Promise<number | void>;

/**
 * Run a verb's action, loading its module only now, so help, --version and other verbs never load
 * it. With an OTLP endpoint set (OTEL_EXPORTER_OTLP_ENDPOINT) it runs in the process's root span.
 * A returned number becomes the exit code. Shared by commander's path (program.ts) and the quick
 * path (quick.ts), so a verb behaves the same whichever parsed its arguments.
 */
export async function runVerb(target: VerbTarget, command: Command): Promise<void> {
  const run = async (): Promise<number | void> => ((await import(target.module)) as Record<string, Action>)[target.name]!(command);
  const code = tracesEndpoint(process.env) ? await (await import('./tracing.js')).traceCommand(command, run) : await run();
  if (typeof code === 'number') process.exitCode = code;
}
