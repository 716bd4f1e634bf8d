import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { UserError } from '../core/errors.js';
import { acquireAgentLock, type AgentLock } from '../system/lock.js';
import { exactSession, type TmuxClient } from '../tmux/client.js';

/** What one command sent through the control client answered. */
export interface ControlReply {
  ok: boolean;
  /** The command's output lines (its error message when !ok). */
  lines: string[];
}

interface Waiter {
  resolve: (reply: ControlReply) => void;
  reject: (error: Error) => void;
}

/** How often a client without its socket's control slot asks for it again. */
const SLOT_RETRY_MS = 5000;

/** Quote one argument for tmux's command parser: single quotes, so `$`, `~`, `;`, `#` and spaces stay literal. */
export function quoteControlArgument(arg: string): string {
  if (/[\n\r]/.test(arg)) throw new Error('a tmux control-mode argument cannot hold a newline');
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * One tmux control-mode client for a whole fleet, attached read-only with `ignore-size` and
 * `no-output`: it never takes part in window sizing and receives no pane output; it runs the
 * commands we send without a process per command. tmux does not stop a read-only control client
 * from running any command, so callers send only reads (capture-pane, display-message). It
 * attaches to a session `pickSession` names (the fleet's holder, or any live session), connects on
 * first use and again after tmux dropped it (that session ended).
 *
 * With a `slotDir`, at most one such client per socket exists among all mosaic processes: control
 * clients that attach and leave at the same moment can crash tmux 3.3a's server (decision 019), so
 * a second `fleet serve` on the same fleet runs its commands as plain tmux processes until the
 * slot is free (asked again at most every SLOT_RETRY_MS).
 */
export class TmuxControlClient {
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly waiting: Waiter[] = [];
  private connecting: Promise<ChildProcessWithoutNullStreams> | undefined;
  private closed = false;
  private slot: AgentLock | undefined;
  private slotAskedAt = Number.NEGATIVE_INFINITY;
  private claiming: Promise<boolean> | undefined;
  /** How many tmux processes this client started (the benchmark reads it): control clients, and plain calls without the slot. */
  spawned = 0;

  constructor(
    private readonly tmux: TmuxClient,
    private readonly pickSession: () => Promise<string | undefined>,
    private readonly options: {
      /** Where the socket's control slot lives (the fleet's run dir); none: no slot (tests of one client). */
      slotDir?: string;
      /** How often a client without the slot asks for it again. */
      slotRetryMs?: number;
    } = {},
  ) {}

  /** Whether this client holds its socket's control slot (always true without a slotDir). */
  holdsSlot(): Promise<boolean> {
    if (this.options.slotDir === undefined || this.slot) return Promise.resolve(true);
    if (this.closed || Date.now() - this.slotAskedAt < (this.options.slotRetryMs ?? SLOT_RETRY_MS)) return Promise.resolve(false);
    this.claiming ??= this.claimSlot(this.options.slotDir).finally(() => {
      this.claiming = undefined;
    });
    return this.claiming;
  }

  private async claimSlot(slotDir: string): Promise<boolean> {
    this.slotAskedAt = Date.now();
    try {
      this.slot = await acquireAgentLock(slotDir, this.tmux.socket, { purpose: 'control', timeoutMs: 0 });
    } catch (error) {
      // A live process holds it; or no lock file can be made (a read-only or full run dir): plain calls are always safe.
      if (error instanceof UserError || typeof (error as NodeJS.ErrnoException).code === 'string') return false;
      throw error;
    }
    if (this.closed) this.releaseSlot(); // closed while claiming
    return this.slot !== undefined;
  }

  /** Run one tmux command (argv, no shell) through the client. */
  async run(args: readonly string[]): Promise<ControlReply> {
    if (!this.child && !this.connecting && !(await this.holdsSlot())) return this.runPlain(args);
    const child = await this.connect();
    return new Promise<ControlReply>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      child.stdin.write(`${args.map(quoteControlArgument).join(' ')}\n`);
    });
  }

  /** Without the slot: the same command as its own tmux process. */
  private async runPlain(args: readonly string[]): Promise<ControlReply> {
    if (this.closed) throw new Error('the tmux control client was closed');
    this.spawned += 1;
    const result = await this.tmux.run(args, { allowFailure: true });
    const text = result.status === 0 ? result.stdout : result.stderr;
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return { ok: result.status === 0, lines };
  }

  /** Detach (end of stdin makes tmux close the client); kill our child by PID if it lingers. */
  close(): void {
    this.closed = true;
    const child = this.child;
    this.child = undefined;
    this.failAll(new Error('the tmux control client was closed'));
    if (!child) {
      this.releaseSlot();
      return;
    }
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGTERM'), 1000);
    timer.unref();
    // The slot is free once our client is gone, not before: a client still leaving is half the crash pattern.
    child.once('exit', () => {
      clearTimeout(timer);
      this.releaseSlot();
    });
  }

  private releaseSlot(): void {
    const slot = this.slot;
    this.slot = undefined;
    void slot?.release();
  }

  private connect(): Promise<ChildProcessWithoutNullStreams> {
    if (this.closed) return Promise.reject(new Error('the tmux control client was closed'));
    if (this.child) return Promise.resolve(this.child);
    this.connecting ??= this.start().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async start(): Promise<ChildProcessWithoutNullStreams> {
    const session = await this.pickSession();
    if (session === undefined) throw new Error('no tmux session to attach the control client to');
    const argv = this.tmux.argv(['-C', 'attach-session', '-t', exactSession(session), '-f', 'read-only,ignore-size,no-output']);
    const child = spawn(argv[0]!, argv.slice(1), { env: this.tmux.childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    this.spawned += 1;
    this.child = child;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', (error) => this.dropped(child, error));
    child.stdin.on('error', () => undefined); // a write racing tmux's exit: the exit below fails the waiters
    child.on('exit', () => this.dropped(child, new Error(`the tmux control client ended${stderr ? `: ${stderr.trim()}` : ''}`)));
    this.readBlocks(child);
    return child;
  }

  /** Output comes in %begin … %end|%error blocks; flag 1 marks the replies to our commands, in order. */
  private readBlocks(child: ChildProcessWithoutNullStreams): void {
    let block: { id: string; ours: boolean; lines: string[] } | undefined;
    const lines = createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on('line', (line) => {
      if (block === undefined) {
        const begin = /^%begin (\d+ \d+) (\d+)$/.exec(line);
        if (begin) block = { id: begin[1]!, ours: begin[2] === '1', lines: [] };
        return; // notifications (%session-changed, %exit, …) carry nothing we use
      }
      const end = /^%(end|error) (\d+ \d+) \d+$/.exec(line);
      if (end && end[2] === block.id) {
        if (block.ours) this.waiting.shift()?.resolve({ ok: end[1] === 'end', lines: block.lines });
        block = undefined;
        return;
      }
      block.lines.push(line);
    });
  }

  private dropped(child: ChildProcessWithoutNullStreams, error: Error): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.failAll(error);
  }

  private failAll(error: Error): void {
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
  }
}
