import type { Command } from 'commander';
import type { FleetContext } from '../context/context.js';
import { onHosts, remoteMosaic, splitTargets, type HostOutcome } from '../fleet/hosts.js';
import { runInteractive } from '../observe/interactive.js';
import { err, write } from './output.js';

/**
 * This command's own arguments as the user typed them, for the same command on another host:
 * without the global --roster (that host has its own copy), with `host/agent` as `agent`, and
 * without the options in `drop` (e.g. the message, which goes over stdin instead).
 */
export function argvForHost(argv: readonly string[], agent: { given: string; name: string }, drop: readonly string[] = []): string[] {
  const out: string[] = [];
  let replaced = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const option = drop.find((name) => arg === name || arg.startsWith(`${name}=`));
    if (arg === '--roster' || option) {
      if (!arg.includes('=')) i += 1; // and its value
      continue;
    }
    // A short option with its value attached (`-mhello`, `-f/tmp/body`).
    if (drop.some((name) => /^-[A-Za-z]$/.test(name) && arg.startsWith(name) && arg.length > 2)) continue;
    if (arg.startsWith('--roster=')) continue;
    if (!replaced && arg === agent.given) {
      out.push(agent.name);
      replaced = true;
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** The host and plain name of the agent named by `given` when another host runs it, else undefined. */
export function remoteAgent(view: FleetContext, given: string): { host: string; name: string } | undefined {
  const [entry] = splitTargets(view.roster, [given]).remote;
  return entry ? { host: entry[0], name: entry[1][0]! } : undefined;
}

/**
 * Run this one-agent command (tail, logs, watch, attach, status, reset, send) on the host that runs
 * the agent, with this terminal: what it prints is what that host's mosaic prints (its rows carry
 * the roster's name for the host). Returns undefined when the agent runs here.
 */
export async function forwardToHost(
  view: FleetContext,
  command: Command,
  how: { tty?: boolean; input?: string | Buffer; drop?: readonly string[]; extra?: readonly string[] } = {},
): Promise<number | undefined> {
  const given = command.args[0];
  if (given === undefined) return undefined;
  const target = remoteAgent(view, given);
  if (!target) return undefined;
  const remote = await remoteMosaic(view, target.host);
  const args = [...argvForHost(process.argv.slice(2), { given, name: target.name }, how.drop), ...(how.extra ?? [])];
  if (how.input !== undefined) {
    const result = await remote.run(args, { input: how.input, timeoutMs: Math.max(120_000, remote.spec.timeoutSeconds * 1000) });
    if (result.stdout) write(result.stdout);
    if (result.stderr) process.stderr.write(result.stderr);
    return result.status;
  }
  const status = await runInteractive(
    await remote.interactiveArgv(args, Boolean(how.tty)),
    view.host.env,
    'install the OpenSSH client: sudo apt-get install -y openssh-client',
  );
  if (status === 255)
    err(`mosaic: host "${target.host}" did not answer (ssh exit 255); check it with \`mosaic host check ${target.host}\``);
  return status;
}

/** What every other host answered to a fan-out verb: JSON rows, the hosts that failed, those whose mosaic exited non-zero. */
export interface FanOut {
  rows: unknown[];
  /** Unreachable, or answered with an error and no rows. */
  failed: HostOutcome<unknown>[];
  /** Answered with rows, but its mosaic's exit status said something failed (the rows say what). */
  exitedNonZero: string[];
}

/**
 * A whole-fleet verb (start, stop, restart, status, verify, broadcast) on every other host that
 * the selection reaches, in parallel, as `--json`; the caller merges the rows with its own.
 */
export async function fanOut(
  view: FleetContext,
  hosts: ReadonlyMap<string, string[]>,
  verb: readonly string[],
  extra: readonly string[] | ((host: string) => readonly string[]) = [],
  input?: string | Buffer,
): Promise<FanOut> {
  const answers = await onHosts(view, hosts, async (remote, names) => {
    const options = typeof extra === 'function' ? extra(remote.name) : extra;
    const result = await remote.json<unknown>([...verb, ...names, ...options], {
      timeoutMs: Math.max(120_000, remote.spec.timeoutSeconds * 1000),
      ...(input !== undefined ? { input } : {}),
    });
    if (result.value === undefined) throw new Error(result.stderr.trim() || `exit ${result.status}`);
    return { value: result.value, status: result.status };
  });
  const rows: unknown[] = [];
  const failed: HostOutcome<unknown>[] = [];
  const exitedNonZero: string[] = [];
  for (const answer of answers) {
    if (answer.value) {
      const value = answer.value.value;
      rows.push(...(Array.isArray(value) ? value : [value]));
      if (answer.value.status !== 0) exitedNonZero.push(answer.host);
    } else {
      failed.push(answer);
    }
  }
  return { rows, failed, exitedNonZero };
}

/** Say which hosts failed or did not answer (stderr); returns whether all answered, each with exit 0. */
export function reportHosts({ failed, exitedNonZero }: Pick<FanOut, 'failed' | 'exitedNonZero'>): boolean {
  for (const f of failed) {
    if (f.unreachable) err(`host ${f.host}: unreachable: ${f.unreachable}`);
    else if (f.error) err(`host ${f.host}: ${f.error}`);
  }
  return failed.length === 0 && exitedNonZero.length === 0;
}
