import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import {
  decodeBody,
  decodeMessage,
  encodeMethodCall,
  MESSAGE,
  messageLength,
  type DBusMessage,
  type DBusValue,
  type MethodCall,
} from './dbus-wire.js';

/**
 * A direct D-Bus connection to the user manager: `$XDG_RUNTIME_DIR/systemd/private`, the socket `systemctl --user`
 * itself talks to (peer to peer, no bus daemon, no Hello; the manager sends every signal to every such
 * connection). One connection per operation: a start asks for 100 jobs in one write and waits for their
 * JobRemoved signals, where `systemctl` costs a fork of node, its own start-up and a round trip per unit
 * (decision 029). Anything this client cannot do the way systemctl does (no socket, auth refused, a manager
 * without the method) makes it answer `undefined`, and the caller runs systemctl.
 */

const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const PROPERTIES = 'org.freedesktop.DBus.Properties';
const DESTINATION = 'org.freedesktop.systemd1';
const UNKNOWN_METHOD = 'org.freedesktop.DBus.Error.UnknownMethod';

/** An error reply from the manager: its D-Bus error name and message (what systemctl would print). */
export class BusError extends UserError {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message, { hint: 'see `systemctl --user status` for the units named' });
  }
}

/**
 * The private socket of the manager `systemctl --user` would reach with this environment; undefined when
 * XDG_RUNTIME_DIR is unset, or when MOSAIC_SYSTEMD_BUS=0 says to run systemctl.
 */
export function managerSocketPath(env: NodeJS.ProcessEnv): string | undefined {
  if (env.MOSAIC_SYSTEMD_BUS === '0') return undefined;
  const runtime = env.XDG_RUNTIME_DIR;
  return runtime && path.isAbsolute(runtime) ? path.join(runtime, 'systemd', 'private') : undefined;
}

/** One listed unit (ListUnitsByPatterns), with the fields `systemctl list-units --output=json` prints. */
export interface ListedUnit {
  unit: string;
  load: string;
  active: string;
  sub: string;
}

export interface JobOutcome {
  unit: string;
  /** JobRemoved's result ("done", "failed", "dependency", …), or "refused" with the call's error. */
  result: string;
  error?: string;
  /** For a failed job: the service's Result ("exit-code", "signal", "timeout", …), when it has one. */
  reason?: string;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

export class ManagerBus {
  private serial = 0;
  private readonly replies = new Map<number, Waiter<DBusMessage>>();
  /** JobRemoved results by job path: kept from the start, so a job that ends before its caller looks is not missed. */
  private readonly removed = new Map<string, string>();
  /** A list per job: two units of one call can get the same job back (aliases, or a name given twice). */
  private readonly jobWaiters = new Map<string, Waiter<string>[]>();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private failure: Error | undefined;
  private corked = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.fail(lost(error.message)));
    socket.on('close', () => this.fail(lost('it closed the connection')));
  }

  /** Connects and authenticates (EXTERNAL, as our uid); undefined when the manager cannot be reached this way. */
  static async open(socketPath: string, uid: number, timeoutMs: number): Promise<ManagerBus | undefined> {
    const socket = connect(socketPath);
    socket.setNoDelay?.(true);
    let answer = '';
    const authenticated = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        socket.removeAllListeners('data');
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        socket.removeAllListeners('connect');
        if (!ok) {
          socket.on('error', () => undefined); // a late error of a socket given up on must not end the process
          socket.destroy();
        }
        resolve(ok);
      };
      // A manager at its connection limit accepts and closes at once: no error event, only the close.
      socket.on('error', () => done(false));
      socket.on('close', () => done(false));
      // AUTH and BEGIN in one write, as sd-bus clients send them, and no message before the manager's OK: systemd
      // 252 reads BEGIN and a message that arrive together and then leaves the message unanswered until the
      // connection's next event (seen here: a 30 s wait that ended only when the client closed).
      socket.on('connect', () => {
        socket.write(`\0AUTH EXTERNAL ${Buffer.from(String(uid), 'ascii').toString('hex')}\r\nBEGIN\r\n`);
      });
      socket.on('data', (chunk: Buffer) => {
        answer += chunk.toString('latin1');
        if (answer.indexOf('\r\n') < 0) return;
        done(answer.startsWith('OK '));
      });
    });
    if (!authenticated) return undefined;
    const bus = new ManagerBus(socket);
    // A signal may have come in the same read as the OK line.
    const rest = answer.slice(answer.indexOf('\r\n') + 2);
    if (rest.length > 0) bus.receive(Buffer.from(rest, 'latin1'));
    return bus;
  }

  close(): void {
    this.socket.destroy();
  }

  /** Sends a method call now; the promise is its reply's body. */
  call(call: Omit<MethodCall, 'destination'>): Promise<DBusValue[]> {
    if (this.failure) return Promise.reject(this.failure);
    const serial = ++this.serial;
    const reply = new Promise<DBusMessage>((resolve, reject) => this.replies.set(serial, { resolve, reject }));
    this.send(encodeMethodCall({ ...call, destination: DESTINATION }, serial));
    return reply.then((message) => {
      const body = decodeBody(message);
      if (message.type === MESSAGE.error)
        throw new BusError(message.errorName ?? 'error', typeof body[0] === 'string' ? body[0] : (message.errorName ?? 'error'));
      return body;
    });
  }

  /** Calls made in one turn of the event loop (a start's 100 StartUnit) leave in one write. */
  private send(message: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(message);
  }

  private manager(member: string, signature = '', args: MethodCall['args'] = []): Promise<DBusValue[]> {
    return this.call({ path: MANAGER_PATH, interface: MANAGER, member, signature, args });
  }

  /** Loaded units matching the globs, active or not (`list-units --all`). */
  async listUnits(patterns: readonly string[]): Promise<ListedUnit[]> {
    const [rows] = await this.manager('ListUnitsByPatterns', 'asas', [[], [...patterns]]);
    return (rows as DBusValue[][])
      .map((row) => ({ unit: String(row[0]), load: String(row[2]), active: String(row[3]), sub: String(row[4]) }))
      .sort((a, b) => (a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : 0)); // systemctl lists by name too
  }

  /** A property of the manager itself (UnitPath, Version, …). */
  async managerProperty(name: string): Promise<DBusValue> {
    const [variant] = await this.call({ path: MANAGER_PATH, interface: PROPERTIES, member: 'Get', signature: 'ss', args: [MANAGER, name] });
    return (variant as { value: DBusValue }).value;
  }

  /**
   * Start, stop or restart every unit (mode "replace", as systemctl), all asked in one write; resolves once each
   * job ended, with its result. A unit the manager refused (not found, bad name) has its error instead.
   */
  async jobs(verb: 'start' | 'stop' | 'restart', units: readonly string[]): Promise<JobOutcome[]> {
    const member = verb === 'start' ? 'StartUnit' : verb === 'stop' ? 'StopUnit' : 'RestartUnit';
    const asked = units.map((unit) =>
      this.manager(member, 'ss', [unit, 'replace']).then(
        ([job]) => ({ unit, job: String(job) }),
        (error: unknown) => {
          if (error instanceof BusError) return { unit, error: error.message, errorName: error.errorName };
          throw error;
        },
      ),
    );
    const replies = await Promise.all(asked);
    // A manager without the method answers every call so; systemctl then does it all. Jobs some calls queued are
    // not asked for twice: a lone UnknownMethod is that unit's error.
    const unknown = replies.filter((reply) => 'errorName' in reply && reply.errorName === UNKNOWN_METHOD);
    const first = replies[0];
    if (first && 'error' in first && unknown.length === replies.length) throw new BusError(UNKNOWN_METHOD, first.error);
    const outcomes = await Promise.all(
      replies.map(async (reply): Promise<JobOutcome> => {
        if ('error' in reply) return { unit: reply.unit, result: 'refused', error: reply.error };
        return { unit: reply.unit, result: await this.jobEnd(reply.job) };
      }),
    );
    // Why a job failed, as systemctl says it: the service's Result (only failed units are asked).
    const failed = outcomes.filter((outcome) => outcome.result === 'failed');
    if (failed.length > 0) {
      // Only words for a message: every job has ended, so a failure to read them loses nothing else.
      const results = await this.properties(
        failed.map((outcome) => outcome.unit),
        { 'org.freedesktop.systemd1.Service': ['Result'] },
      ).catch(() => new Map<string, Map<string, DBusValue>>());
      for (const outcome of failed) {
        const reason = results.get(outcome.unit)?.get('Result');
        if (typeof reason === 'string' && reason !== 'success') outcome.reason = reason;
      }
    }
    return outcomes;
  }

  private jobEnd(job: string): Promise<string> {
    // Kept after it is read: another unit of the same call may have been given the same job.
    const known = this.removed.get(job);
    if (known !== undefined) return Promise.resolve(known);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.jobWaiters.set(job, [...(this.jobWaiters.get(job) ?? []), { resolve, reject }]);
    });
  }

  /** Clears the failed state of each unit; one that is not loaded, or not failed, is no error (as for systemctl). */
  async resetFailed(units: readonly string[]): Promise<void> {
    await Promise.all(units.map((unit) => this.manager('ResetFailedUnit', 's', [unit]).catch(ignoreBusError)));
  }

  /** The named properties of each unit, by interface (loading units that are not loaded, as `systemctl show` does). */
  async properties(
    units: readonly string[],
    wanted: Readonly<Record<string, readonly string[]>>,
  ): Promise<Map<string, Map<string, DBusValue>>> {
    const out = new Map<string, Map<string, DBusValue>>();
    await Promise.all(
      units.map(async (unit) => {
        const [objectPath] = await this.manager('LoadUnit', 's', [unit]);
        const values = new Map<string, DBusValue>();
        const asks: Promise<void>[] = [];
        for (const [iface, names] of Object.entries(wanted)) {
          for (const name of names) {
            asks.push(
              // A property the unit's type lacks is left out, as `systemctl show` leaves it out.
              this.call({ path: String(objectPath), interface: PROPERTIES, member: 'Get', signature: 'ss', args: [iface, name] }).then(
                ([variant]) => void values.set(name, (variant as { value: DBusValue }).value),
                ignoreBusError,
              ),
            );
          }
        }
        await Promise.all(asks);
        out.set(unit, values);
      }),
    );
    return out;
  }

  private receive(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    let data = this.pending.length === 1 ? chunk : Buffer.concat(this.pending, this.pendingBytes);
    let length: number | undefined;
    try {
      while ((length = messageLength(data)) !== undefined && length <= data.length) {
        this.dispatch(decodeMessage(data.subarray(0, length)));
        data = data.subarray(length);
      }
    } catch (error) {
      this.fail(lost(`it sent a message this client cannot read: ${error instanceof Error ? error.message : String(error)}`));
      this.socket.destroy();
      return;
    }
    this.pending = data.length > 0 ? [data] : [];
    this.pendingBytes = data.length;
  }

  private dispatch(message: DBusMessage): void {
    if (message.type === MESSAGE.methodReturn || message.type === MESSAGE.error) {
      const waiter = message.replySerial === undefined ? undefined : this.replies.get(message.replySerial);
      if (!waiter) return;
      this.replies.delete(message.replySerial!);
      waiter.resolve(message);
      return;
    }
    // Every other signal (PropertiesChanged, UnitNew, …) is skipped without decoding its body.
    if (message.type === MESSAGE.signal && message.member === 'JobRemoved' && message.interface === MANAGER) {
      const [, job, , result] = decodeBody(message);
      const waiters = this.jobWaiters.get(String(job));
      if (waiters) {
        this.jobWaiters.delete(String(job));
        for (const waiter of waiters) waiter.resolve(String(result));
      } else this.removed.set(String(job), String(result));
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const waiter of this.replies.values()) waiter.reject(error);
    this.replies.clear();
    for (const waiters of this.jobWaiters.values()) for (const waiter of waiters) waiter.reject(error);
    this.jobWaiters.clear();
  }
}

const duration = (ms: number): string => (ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`);

function lost(why: string): UserError {
  return new UserError(`lost the systemd user manager's answer (${why})`, {
    hint: 'check it with `systemctl --user status`; MOSAIC_SYSTEMD_BUS=0 makes mosaic use systemctl instead',
  });
}

function ignoreBusError(error: unknown): undefined {
  if (error instanceof BusError) return undefined;
  throw error;
}

/**
 * Opens a connection, runs `work` on it and closes it. Undefined (run systemctl instead) when the socket cannot be
 * used or the manager lacks a method; a deadline that passes is an error, as systemctl's timeout would be.
 */
export async function withManagerBus<T>(
  socketPath: string,
  timeoutMs: number,
  what: string,
  work: (bus: ManagerBus) => Promise<T>,
): Promise<T | undefined> {
  const bus = await ManagerBus.open(socketPath, process.getuid?.() ?? 0, Math.min(timeoutMs, 5_000));
  if (!bus) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new UserError(`the systemd user manager did not finish ${what} within ${duration(timeoutMs)}`, {
            hint: 'see `systemctl --user list-jobs`',
          }),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([work(bus), deadline]);
  } catch (error) {
    if (error instanceof BusError && error.errorName === UNKNOWN_METHOD) return undefined;
    throw error;
  } finally {
    clearTimeout(timer);
    bus.close();
  }
}
