import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { exactSession, type TmuxClient } from './client.js';

/** What one command sent through the control client answered. */
export interface ControlReply {
  ok: boolean;
  /** The command's output lines (its error message when !ok). */
  lines: string[];
}

/** The client could not attach: tmux ran none of the commands sent, so they may be run another way. */
export class ControlUnavailableError extends Error {}

interface Waiter {
  /** Commands on the line; tmux answers each with a block and skips the rest after the first error. */
  expected: number;
  replies: ControlReply[];
  resolve: (replies: ControlReply[]) => void;
  reject: (error: Error) => void;
}

interface Connection {
  child: ChildProcessWithoutNullStreams;
  /** Settles when tmux has answered the attach itself: before that, nothing we wrote has run. */
  attached: Promise<void>;
}

/** Quote one argument for tmux's command parser: single quotes, so `$`, `~`, `;`, `#` and spaces stay literal. */
export function quoteControlArgument(arg: string): string {
  if (/[\n\r]/.test(arg)) throw new Error('a tmux control-mode argument cannot hold a newline');
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** One line of tmux input: the commands separated by a bare `;` (a quoted ';' stays literal). */
export function controlLine(commands: readonly (readonly string[])[]): string {
  return `${commands.map((command) => command.map(quoteControlArgument).join(' ')).join(' ; ')}\n`;
}

export interface ControlClientOptions {
  /**
   * The client's flags. `ignore-size` and `no-output` always: it never takes part in window sizing
   * and receives no pane output. The default adds `read-only` for clients that only read.
   */
  flags?: string;
}

/**
 * One tmux control-mode client, attached to a session `pickSession` names (the fleet's holder, or any
 * live session): it runs the commands we send without a tmux process per command. tmux does not stop a
 * read-only control client from running any command, so read-only callers send only reads. It connects
 * on first use and again after tmux dropped it (that session ended).
 */
export class TmuxControlClient {
  private connection: Connection | undefined;
  private readonly waiting: Waiter[] = [];
  private connecting: Promise<Connection> | undefined;
  private closed = false;
  private readonly flags: string;
  /** How many tmux processes this client started (the benchmarks read it). */
  spawned = 0;

  constructor(
    private readonly tmux: TmuxClient,
    private readonly pickSession: () => Promise<string | undefined>,
    options: ControlClientOptions = {},
  ) {
    this.flags = options.flags ?? 'read-only,ignore-size,no-output';
  }

  /** Run one tmux command (argv, no shell) through the client. */
  async run(args: readonly string[]): Promise<ControlReply> {
    const [reply] = await this.runList([args]);
    return reply!;
  }

  /**
   * Run a command list as one line, as a spawned `tmux a ; b` would: tmux stops at the first
   * command that fails, so there is one reply per command up to and including that one.
   * Rejects with ControlUnavailableError when the client could not attach (nothing ran).
   */
  async runList(commands: readonly (readonly string[])[]): Promise<ControlReply[]> {
    const line = controlLine(commands);
    const { child, attached } = await this.connect();
    await attached;
    return new Promise<ControlReply[]>((resolve, reject) => {
      this.waiting.push({ expected: commands.length, replies: [], resolve, reject });
      child.stdin.write(line);
    });
  }

  /** Detach (end of stdin makes tmux close the client); kill our child by PID if it lingers. */
  close(): void {
    this.closed = true;
    const child = this.connection?.child;
    this.connection = undefined;
    this.failAll(new Error('the tmux control client was closed'));
    if (!child) return;
    child.stdin.end();
    // Our process need not wait for tmux to notice: it exits on its own once stdin is closed.
    child.unref();
    for (const pipe of [child.stdout, child.stderr] as unknown as { unref?: () => void }[]) pipe.unref?.();
    const timer = setTimeout(() => child.kill('SIGTERM'), 1000);
    timer.unref();
    child.once('exit', () => clearTimeout(timer));
  }

  private connect(): Promise<Connection> {
    if (this.closed) return Promise.reject(new Error('the tmux control client was closed'));
    if (this.connection) return Promise.resolve(this.connection);
    this.connecting ??= this.start().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async start(): Promise<Connection> {
    const session = await this.pickSession();
    if (session === undefined) throw new ControlUnavailableError('no tmux session to attach the control client to');
    const argv = this.tmux.argv(['-C', 'attach-session', '-t', exactSession(session), '-f', this.flags]);
    const child = spawn(argv[0]!, argv.slice(1), { env: this.tmux.childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    this.spawned += 1;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    let confirm!: () => void;
    let refuse!: (error: Error) => void;
    const attached = new Promise<void>((resolve, reject) => {
      confirm = resolve;
      refuse = reject;
    });
    attached.catch(() => undefined); // the waiter on `attached` sees it; no unhandled rejection meanwhile
    let isAttached = false;
    const ended = (error: Error): void => {
      if (!isAttached) refuse(new ControlUnavailableError(error.message));
      this.dropped(child, error);
    };
    child.on('error', (error) => ended(error));
    child.stdin.on('error', () => undefined); // a write racing tmux's exit: the exit below fails the waiters
    child.on('exit', () => ended(new Error(`the tmux control client ended${stderr ? `: ${stderr.trim()}` : ''}`)));
    const connection = { child, attached };
    this.connection = connection;
    this.readBlocks(child, () => {
      isAttached = true;
      confirm();
    });
    return connection;
  }

  /**
   * Output comes in %begin … %end|%error blocks. Flag 0 is the attach's own answer; flag 1 marks the
   * replies to our commands, in order. A block ends only on the %end or %error with its own id.
   */
  private readBlocks(child: ChildProcessWithoutNullStreams, onAttached: () => void): void {
    let block: { id: string; ours: boolean; lines: string[] } | undefined;
    const onLine = (line: string): void => {
      if (block === undefined) {
        const begin = /^%begin (\d+ \d+) (\d+)$/.exec(line);
        if (begin) block = { id: begin[1]!, ours: begin[2] === '1', lines: [] };
        return; // notifications (%session-changed, %exit, …) carry nothing we use
      }
      const end = /^%(end|error) (\d+ \d+) \d+$/.exec(line);
      if (end && end[2] === block.id) {
        if (block.ours) this.answer({ ok: end[1] === 'end', lines: block.lines });
        else if (end[1] === 'end') onAttached();
        block = undefined;
        return;
      }
      block.lines.push(line);
    };
    // Split by hand (node:readline costs ~1.5 ms to load, on the send path); utf8 decoding keeps split characters whole.
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop()!;
      for (const line of lines) onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    });
  }

  private answer(reply: ControlReply): void {
    const waiter = this.waiting[0];
    if (!waiter) return;
    waiter.replies.push(reply);
    if (!reply.ok || waiter.replies.length >= waiter.expected) {
      this.waiting.shift();
      waiter.resolve(waiter.replies);
    }
  }

  private dropped(child: ChildProcessWithoutNullStreams, error: Error): void {
    if (this.connection?.child !== child) return;
    this.connection = undefined;
    this.failAll(error);
  }

  private failAll(error: Error): void {
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
  }
}
