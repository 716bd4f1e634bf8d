import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../core/errors.js';
import { decodeMessage, messageLength } from './dbus-wire.js';
import { withManagerBus } from './manager-bus.js';

// What a user manager sent systemctl 252 (strace -xx): StartUnit's reply to serial 1 (job 90549), and that job's
// JobRemoved ("done"). The real manager is tested in test/e2e/manager-bus.test.ts; this fake one plays what a real
// one cannot be made to do on cue.
const START_REPLY =
  '6c020101280000000300000037000000050175000100000007017300180000006f72672e667265656465736b746f702e73797374656d6431000000000000000008016700016f0000230000002f6f72672f667265656465736b746f702f73797374656d64312f6a6f622f393035343900';
const JOB_REMOVED =
  '6c0401014900000010000000a200000001016f00190000002f6f72672f667265656465736b746f702f73797374656d64310000000000000002017300200000006f72672e667265656465736b746f702e73797374656d64312e4d616e616765720000000000000000030173000a0000004a6f6252656d6f76656400000000000007017300180000006f72672e667265656465736b746f702e73797374656d643100000000000000000801670004756f737300000000000000b5610100230000002f6f72672f667265656465736b746f702f73797374656d64312f6a6f622f3930353439000c000000787140742e736572766963650000000004000000646f6e6500';

const servers: Server[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fake manager on a fresh socket: `auth` answers the AUTH line, `onCall` each method call (by member). */
async function fakeManager(auth: string, onCall: (socket: Socket, member: string) => void): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-bus-'));
  dirs.push(dir);
  const socketPath = path.join(dir, 'private');
  const server = createServer((socket) => {
    let authenticated = false;
    let data = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (!authenticated) {
        const text = data.toString('latin1');
        if (!text.includes('BEGIN\r\n')) return;
        expect(text).toMatch(/^\0AUTH EXTERNAL [0-9a-f]+\r\nBEGIN\r\n$/); // one write, nothing after BEGIN
        socket.write(auth);
        authenticated = true;
        data = Buffer.alloc(0);
        return;
      }
      let length: number | undefined;
      while ((length = messageLength(data)) !== undefined && length <= data.length) {
        onCall(socket, decodeMessage(data.subarray(0, length)).member ?? '');
        data = data.subarray(length);
      }
    });
    socket.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return socketPath;
}

const OK = 'OK 0123456789abcdef0123456789abcdef\r\n';

describe('the manager bus client', () => {
  it('takes a JobRemoved that comes before the reply naming its job', async () => {
    const socketPath = await fakeManager(OK, (socket, member) => {
      expect(member).toBe('StartUnit');
      socket.write(Buffer.from(JOB_REMOVED, 'hex'));
      socket.write(Buffer.from(START_REPLY, 'hex'));
    });
    const outcomes = await withManagerBus(socketPath, 5_000, 'a start', (bus) => bus.jobs('start', ['xq@t.service']));
    expect(outcomes).toEqual([{ unit: 'xq@t.service', result: 'done' }]);
  });

  it('gives two units of one call that got the same job (a name twice, aliases) both its result', async () => {
    let calls = 0;
    const socketPath = await fakeManager(OK, (socket) => {
      const reply = Buffer.from(START_REPLY, 'hex');
      reply.writeUInt32LE(++calls, 20); // the reply's REPLY_SERIAL field
      socket.write(reply);
      if (calls === 2) socket.write(Buffer.from(JOB_REMOVED, 'hex'));
    });
    const outcomes = await withManagerBus(socketPath, 5_000, 'a stop', (bus) => bus.jobs('stop', ['xq@t.service', 'xq@t.service']));
    expect(outcomes).toEqual([
      { unit: 'xq@t.service', result: 'done' },
      { unit: 'xq@t.service', result: 'done' },
    ]);
  });

  it('says it cannot be used (undefined) when the socket is missing or the authentication is refused', async () => {
    const missing = path.join(os.tmpdir(), `mosaic-no-such-socket-${process.pid}`);
    expect(await withManagerBus(missing, 5_000, 'a list', (bus) => bus.listUnits(['x*']))).toBeUndefined();
    const socketPath = await fakeManager('REJECTED EXTERNAL\r\n', () => undefined);
    expect(await withManagerBus(socketPath, 5_000, 'a list', (bus) => bus.listUnits(['x*']))).toBeUndefined();
  });

  it('fails clearly when the manager closes the connection during a call, or never answers', async () => {
    const closing = await fakeManager(OK, (socket) => socket.destroy());
    const lost = withManagerBus(closing, 5_000, 'a list', (bus) => bus.listUnits(['x*']));
    await expect(lost).rejects.toThrow(UserError);
    await expect(lost).rejects.toThrow(/lost the systemd user manager's answer \(it closed the connection\)/);

    const silent = await fakeManager(OK, () => undefined);
    await expect(withManagerBus(silent, 300, 'listing units', (bus) => bus.listUnits(['x*']))).rejects.toThrow(
      /did not finish listing units within 300 ms/,
    );
  });
});
