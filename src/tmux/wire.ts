import { closeSync, constants, lstatSync, openSync, readFileSync, realpathSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { monotonicMs } from '../system/clock.js';
import type { RunResult } from '../system/runner.js';

/**
 * tmux's own client protocol (imsg messages on the server's socket), spoken the way the tmux
 * binary speaks it for one command: identify, command, then the server's stdout/stderr streams
 * and its exit status. A call costs a connect and a few messages instead of a fork of node, an
 * exec of tmux and tmux's start-up (decision 024). The messages are byte for byte what tmux
 * 3.2–3.6 (protocol 8) send with `-u -L <socket>` and no terminal.
 *
 * Only a running server is spoken to. Whenever this client cannot be the same as the binary —
 * no server, a stale socket, another protocol version, a socket directory tmux would refuse,
 * a command too long for one message — it answers undefined and the caller runs tmux itself,
 * which starts the server or says what is wrong in its own words.
 */

const PROTOCOL_VERSION = 8;
const HEADER_BYTES = 16;
/** tmux's MAX_IMSGSIZE: one message, header included. */
const MAX_MESSAGE_BYTES = 16_384;
const EBADF = 9;

/** Message types (tmux-protocol.h). */
const MSG = {
  version: 12,
  identifyFlags: 100,
  identifyTerm: 101,
  identifyTtyName: 102,
  identifyStdin: 104,
  identifyEnviron: 105,
  identifyDone: 106,
  identifyClientPid: 107,
  identifyCwd: 108,
  identifyFeatures: 109,
  identifyStdout: 110,
  identifyLongFlags: 111,
  command: 200,
  exit: 203,
  shutdown: 210,
  readOpen: 300,
  read: 301,
  readDone: 302,
  writeOpen: 303,
  write: 304,
  writeReady: 305,
  writeClose: 306,
} as const;

/** CLIENT_UTF8 (`-u`) | CLIENT_DEFAULTSOCKET (a socket named with `-L`), as the binary sets them. */
const CLIENT_FLAGS = 0x10000 | 0x8000000;

export interface WireRunOptions {
  input?: string | Buffer;
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

/** One imsg: type, length, flags (no fd), peer id (the protocol version), pid (-1, as tmux's proc_send). */
export function encodeMessage(type: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const message = Buffer.alloc(HEADER_BYTES + data.length);
  message.writeUInt32LE(type, 0);
  message.writeUInt16LE(message.length, 4);
  message.writeUInt16LE(0, 6);
  message.writeUInt32LE(PROTOCOL_VERSION, 8);
  message.writeInt32LE(-1, 12);
  data.copy(message, HEADER_BYTES);
  return message;
}

const int32 = (...values: number[]): Buffer => {
  const buffer = Buffer.alloc(4 * values.length);
  values.forEach((value, i) => buffer.writeInt32LE(value, 4 * i));
  return buffer;
};
const cString = (text: string): Buffer => Buffer.from(`${text}\0`);

/** The directory part of tmux's make_label: $TMUX_TMPDIR (or /tmp) resolved, then tmux-<uid>. */
export function socketPath(label: string, env: NodeJS.ProcessEnv, uid: number): string | undefined {
  for (const candidate of [env.TMUX_TMPDIR, '/tmp']) {
    if (!candidate) continue;
    // tmux resolves a relative one against its own working directory, which a call's cwd may change: the binary's job.
    if (!candidate.startsWith('/')) return undefined;
    let resolved: string;
    try {
      resolved = realpathSync.native(candidate);
    } catch {
      continue; // tmux skips a directory that does not resolve
    }
    const base = `${resolved === '/' ? '' : resolved}/tmux-${uid}`;
    try {
      const stat = lstatSync(base);
      // tmux refuses a directory that is not ours or that others can enter: so do we.
      if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o007) !== 0) return undefined;
    } catch {
      return undefined; // tmux would create it: no server can be running there yet
    }
    return `${base}/${label}`;
  }
  return undefined;
}

/** tmux's find_cwd: the working directory, spelled as $PWD when $PWD names the same place. */
function clientCwd(cwd: string | undefined, env: NodeJS.ProcessEnv): string {
  const actual = cwd ?? process.cwd();
  const pwd = env.PWD;
  if (!pwd) return actual;
  try {
    return realpathSync.native(pwd) === realpathSync.native(actual) ? pwd : actual;
  } catch {
    return actual;
  }
}

/** What the binary sends before its command: identity, no terminal, no stdin/stdout fds, its environment. */
export function identifyMessages(env: NodeJS.ProcessEnv, cwd: string, pid: number): Buffer[] {
  const longFlags = Buffer.alloc(8);
  longFlags.writeBigUInt64LE(BigInt(CLIENT_FLAGS));
  const messages = [
    encodeMessage(MSG.identifyFlags, int32(CLIENT_FLAGS)),
    encodeMessage(MSG.identifyLongFlags, longFlags),
    encodeMessage(MSG.identifyTerm, cString(env.TERM ?? '')),
    encodeMessage(MSG.identifyFeatures, int32(0)),
    encodeMessage(MSG.identifyTtyName, cString('')),
    encodeMessage(MSG.identifyCwd, cString(cwd)),
    encodeMessage(MSG.identifyStdin),
    encodeMessage(MSG.identifyStdout),
    encodeMessage(MSG.identifyClientPid, int32(pid)),
  ];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const entry = cString(`${name}=${value}`);
    if (entry.length <= MAX_MESSAGE_BYTES - HEADER_BYTES) messages.push(encodeMessage(MSG.identifyEnviron, entry));
  }
  messages.push(encodeMessage(MSG.identifyDone));
  return messages;
}

/** The identify bytes per environment object and working directory: a client sends the same ones on every call. */
const identifyCache = new WeakMap<NodeJS.ProcessEnv, Map<string, Buffer>>();

function identifyBytes(env: NodeJS.ProcessEnv, cwd: string): Buffer {
  let byCwd = identifyCache.get(env);
  if (!byCwd) identifyCache.set(env, (byCwd = new Map()));
  let bytes = byCwd.get(cwd);
  if (!bytes) byCwd.set(cwd, (bytes = Buffer.concat(identifyMessages(env, cwd, process.pid))));
  return bytes;
}

/** A stream's bytes as ranges of the socket's chunks, copied once at the end (tmux sends stdout a line per message). */
class Collected {
  private readonly parts: [Buffer, number, number][] = [];
  private bytes = 0;

  add(chunk: Buffer, start: number, end: number): void {
    this.parts.push([chunk, start, end]);
    this.bytes += end - start;
  }

  text(): string {
    const whole = Buffer.allocUnsafe(this.bytes);
    let at = 0;
    for (const [chunk, start, end] of this.parts) at += chunk.copy(whole, at, start, end);
    return whole.toString('utf8');
  }
}

/** MSG_COMMAND: argc, then the arguments, each NUL-terminated; undefined when it does not fit one message. */
export function commandMessage(args: readonly string[]): Buffer | undefined {
  const data = Buffer.concat([int32(args.length), ...args.map(cString)]);
  return HEADER_BYTES + data.length > MAX_MESSAGE_BYTES ? undefined : encodeMessage(MSG.command, data);
}

/** The path that follows a read/write open's fixed fields; "-" (our stdin/stdout) when there is none. */
function pathAfter(data: Buffer, offset: number): string {
  if (data.length <= offset) return '-';
  const end = data.indexOf(0, offset);
  return data.subarray(offset, end < 0 ? data.length : end).toString();
}

const errnoOf = (error: unknown): number => Math.abs((error as NodeJS.ErrnoException).errno ?? EBADF);

/** A read stream's bytes as MSG_READ chunks that fit one message, then MSG_READ_DONE. */
function readMessages(stream: number, input: Buffer): Buffer[] {
  const room = MAX_MESSAGE_BYTES - HEADER_BYTES - 4;
  const messages: Buffer[] = [];
  for (let at = 0; at < input.length; at += room) {
    messages.push(encodeMessage(MSG.read, Buffer.concat([int32(stream), input.subarray(at, at + room)])));
  }
  messages.push(encodeMessage(MSG.readDone, int32(stream, 0)));
  return messages;
}

/**
 * Run one tmux command on the server at `path`. Resolves undefined when the binary must do it
 * instead (see the file comment); otherwise the result the binary would have given: its exit
 * status, stdout and stderr. `argv` is the equivalent command line, for messages.
 */
export function runOverSocket(
  path: string,
  argv: readonly string[],
  args: readonly string[],
  options: WireRunOptions,
): Promise<RunResult | undefined> {
  const command = commandMessage(args);
  if (!command) return Promise.resolve(undefined);
  const started = monotonicMs();
  return new Promise((resolve) => {
    const socket = connect(path);
    const output = { 1: new Collected(), 2: new Collected() };
    /** Server stream number → where its bytes go: our stdout (1), stderr (2), or a file we opened for it. */
    const streams = new Map<number, { out: 1 | 2 } | { file: number }>();
    /** Received bytes not yet handled start at `offset` of `pending`. */
    let pending: Buffer = Buffer.alloc(0);
    let offset = 0;
    let connected = false;
    let status: number | null | undefined;
    let note = '';
    let settled = false;
    const finish = (result: RunResult | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      for (const stream of streams.values()) if ('file' in stream) closeSync(stream.file);
      resolve(result);
    };
    const result = (): RunResult => ({
      argv,
      status: status === undefined ? 1 : status,
      signal: null,
      stdout: output[1].text(),
      stderr: output[2].text() + note,
      durationMs: Math.round(monotonicMs() - started),
    });
    const timer = setTimeout(() => {
      status = null;
      note = `timed out after ${options.timeoutMs / 1000} s; mosaic closed its connection to tmux\n`;
      finish(result());
    }, options.timeoutMs);

    const handle = (type: number, data: Buffer): void => {
      switch (type) {
        case MSG.version:
          finish(undefined); // another protocol: the binary reports the mismatch
          return;
        case MSG.writeOpen: {
          // struct msg_write_open { int stream; int fd; int flags; } then the path: "-" and fd 1 or 2
          // are our stdout or stderr; any other path is a file the client writes, as the binary does.
          const [stream, fd, flags] = [data.readInt32LE(0), data.readInt32LE(4), data.readInt32LE(8)];
          const path = pathAfter(data, 12);
          let error = 0;
          try {
            if (fd === 1 || fd === 2) streams.set(stream, { out: fd });
            else if (fd === -1 && path !== '-') {
              streams.set(stream, { file: openSync(path, flags | constants.O_WRONLY | constants.O_CREAT | constants.O_NONBLOCK, 0o644) });
            } else error = EBADF;
          } catch (failure) {
            error = errnoOf(failure);
          }
          socket.write(encodeMessage(MSG.writeReady, int32(stream, error)));
          return;
        }
        case MSG.writeClose: {
          const stream = data.readInt32LE(0);
          const target = streams.get(stream);
          if (target && 'file' in target) closeSync(target.file);
          streams.delete(stream);
          return;
        }
        case MSG.readOpen: {
          // struct msg_read_open { int stream; int fd; } then the path: fd 0 is our input, a path a file we read.
          const [stream, fd] = [data.readInt32LE(0), data.readInt32LE(4)];
          const path = pathAfter(data, 8);
          let bytes: Buffer | undefined;
          let error = EBADF;
          try {
            if (fd === 0) bytes = options.input === undefined ? Buffer.alloc(0) : Buffer.from(options.input);
            else if (fd === -1 && path !== '-') bytes = readFileSync(path);
          } catch (failure) {
            error = errnoOf(failure);
          }
          socket.write(bytes ? Buffer.concat(readMessages(stream, bytes)) : encodeMessage(MSG.readDone, int32(stream, error)));
          return;
        }
        case MSG.exit:
        case MSG.shutdown:
          status = data.length >= 4 ? data.readInt32LE(0) : 0;
          finish(result());
          return;
        default:
          return; // MSG_FLAGS and the like change nothing for one command
      }
    };

    socket.on('connect', () => {
      connected = true;
      const env = options.env;
      socket.write(Buffer.concat([identifyBytes(env, clientCwd(options.cwd, env)), command]));
    });
    /** MSG_WRITE, the bulk of what tmux sends, read in place: struct msg_write_data { int stream; } then the bytes. */
    const handleWrite = (start: number, end: number): void => {
      if (end - start < 4) throw new RangeError('MSG_WRITE without its stream');
      const target = streams.get(pending.readInt32LE(start));
      if (target && 'out' in target) output[target.out].add(pending, start + 4, end);
      else if (target) writeSync(target.file, pending, start + 4, end - start - 4);
    };
    const unreadable = (): void => {
      note = 'mosaic could not read a message from tmux\n';
      finish(result());
    };
    socket.on('data', (chunk: Buffer) => {
      pending = offset >= pending.length ? chunk : Buffer.concat([pending.subarray(offset), chunk]);
      offset = 0;
      while (!settled && pending.length - offset >= HEADER_BYTES) {
        const length = pending.readUInt16LE(offset + 4);
        if (length < HEADER_BYTES) {
          unreadable();
          return;
        }
        if (pending.length - offset < length) break;
        const type = pending.readUInt32LE(offset);
        try {
          if (type === MSG.write) handleWrite(offset + HEADER_BYTES, offset + length);
          else handle(type, pending.subarray(offset + HEADER_BYTES, offset + length));
        } catch {
          unreadable(); // shorter than its type says
          return;
        }
        offset += length;
      }
    });
    socket.on('error', () => {
      // Before the connection: no server (or a stale socket) — the binary decides what that means.
      if (!connected) finish(undefined);
    });
    socket.on('close', () => {
      if (!connected) {
        finish(undefined);
        return;
      }
      note = 'server exited unexpectedly\n'; // what the binary says when the server goes away mid-command
      finish(result());
    });
  });
}
