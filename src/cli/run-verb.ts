import type { Command } from 'commander';
import { tracesEndpoint } from '../core/trace.js';

/**
 * The modules under src/cli/commands/ that hold the verbs' actions, by name. Each is imported by a literal
 * path, only when one of its verbs runs: the build's bundler (scripts/bundle.mjs) makes each a chunk of its own.
 */
const VERB_MODULES = {
  agent: () => import('./commands/agent.js'),
  agents: () => import('./commands/agents.js'),
  approvals: () => import('./commands/approvals.js'),
  demo: () => import('./commands/demo.js'),
  doctor: () => import('./commands/doctor.js'),
  events: () => import('./commands/events.js'),
  fleet: () => import('./commands/fleet.js'),
  foreground: () => import('./commands/foreground.js'),
  forge: () => import('./commands/forge.js'),
  framework: () => import('./commands/framework.js'),
  hosts: () => import('./commands/hosts.js'),
  'needs-you': () => import('./commands/needs-you.js'),
  observe: () => import('./commands/observe.js'),
  sanitize: () => import('./commands/sanitize.js'),
  send: () => import('./commands/send.js'),
  serve: () => import('./commands/serve.js'),
  'stub-agent': () => import('./commands/stub-agent.js'),
  supervise: () => import('./commands/supervise.js'),
  systemd: () => import('./commands/systemd.js'),
  tenant: () => import('./commands/tenant.js'),
  'unit-steps': () => import('./commands/unit-steps.js'),
};

export type VerbModule = keyof typeof VERB_MODULES;

/** Where a verb's action lives: an export of one of the VERB_MODULES. */
export interface VerbTarget {
  module: VerbModule;
  name: string;
}

type Action = (command: Command) => Promise<number | void>;

/** The module's exports (a module name from verbs.json that is not one of ours is a build error, said as such). */
export async function verbModule(module: VerbModule): Promise<Record<string, unknown>> {
  const load = VERB_MODULES[module] as (() => Promise<Record<string, unknown>>) | undefined;
  if (!load) throw new Error(`no verb module "${module}" (dist/cli/verbs.json does not match this build)`);
  return load();
}

/**
 * Run a verb's action, loading its module only now, so help, --version and other verbs never load
 * it. With an OTLP endpoint set (OTEL_EXPORTER_OTLP_ENDPOINT) it runs in the process's root span.
 * A returned number becomes the exit code. Shared by commander's path (program.ts) and the quick
 * path (quick.ts), so a verb behaves the same whichever parsed its arguments.
 */
export async function runVerb(target: VerbTarget, command: Command): Promise<void> {
  const run = async (): Promise<number | void> => ((await verbModule(target.module)) as Record<string, Action>)[target.name]!(command);
  const code = tracesEndpoint(process.env) ? await (await import('./tracing.js')).traceCommand(command, run) : await run();
  if (typeof code === 'number') process.exitCode = code;
}
