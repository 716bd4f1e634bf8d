import { describe, expect, it } from 'vitest';
import { decodeBody, decodeMessage, encodeMethodCall, MESSAGE, messageLength, splitSignature } from './dbus-wire.js';

// Bytes captured with `strace -xx` from systemctl 252 talking to a user manager (serial 1).
const LIST_UNITS_CALL =
  '6c0100011f00000001000000aa00000001016f00190000002f6f72672f667265656465736b746f702f73797374656d64310000000000000003017300130000004c697374556e69747342795061747465726e73000000000002017300200000006f72672e667265656465736b746f702e73797374656d64312e4d616e61676572000000000000000006017300180000006f72672e667265656465736b746f702e73797374656d64310000000000000000080167000461736173000000000000000000000017000000090000006d6f736169632d612a00000002000000623f00';
const RESET_FAILED_CALL =
  '6c01000112000000010000009f00000001016f00190000002f6f72672f667265656465736b746f702f73797374656d643100000000000000030173000f00000052657365744661696c6564556e69740002017300200000006f72672e667265656465736b746f702e73797374656d64312e4d616e61676572000000000000000006017300180000006f72672e667265656465736b746f702e73797374656d6431000000000000000008016700017300000d0000007871407a7a2e7365727669636500';
// What the manager sent back: StartUnit's reply (a job path), JobRemoved, and Properties.Get of a boolean.
const START_REPLY =
  '6c020101280000000300000037000000050175000100000007017300180000006f72672e667265656465736b746f702e73797374656d6431000000000000000008016700016f0000230000002f6f72672f667265656465736b746f702f73797374656d64312f6a6f622f393035343900';
const JOB_REMOVED =
  '6c0401014900000010000000a200000001016f00190000002f6f72672f667265656465736b746f702f73797374656d64310000000000000002017300200000006f72672e667265656465736b746f702e73797374656d64312e4d616e616765720000000000000000030173000a0000004a6f6252656d6f76656400000000000007017300180000006f72672e667265656465736b746f702e73797374656d643100000000000000000801670004756f737300000000000000b5610100230000002f6f72672f667265656465736b746f702f73797374656d64312f6a6f622f3930353439000c000000787140742e736572766963650000000004000000646f6e6500';
const GET_BOOLEAN_REPLY =
  '6c020101080000000d00000037000000050175000300000007017300180000006f72672e667265656465736b746f702e73797374656d6431000000000000000008016700017600000162000000000000';

const hex = (text: string): Buffer => Buffer.from(text, 'hex');
const manager = {
  path: '/org/freedesktop/systemd1',
  interface: 'org.freedesktop.systemd1.Manager',
  destination: 'org.freedesktop.systemd1',
};

describe('D-Bus method calls', () => {
  it('are byte for byte what systemctl sends', () => {
    const list = encodeMethodCall({ ...manager, member: 'ListUnitsByPatterns', signature: 'asas', args: [[], ['mosaic-a*', 'b?']] }, 1);
    expect(list.toString('hex')).toBe(LIST_UNITS_CALL);
    const reset = encodeMethodCall({ ...manager, member: 'ResetFailedUnit', signature: 's', args: ['xq@zz.service'] }, 1);
    expect(reset.toString('hex')).toBe(RESET_FAILED_CALL);
  });

  it('refuse arguments that do not match the signature, and types this client does not write', () => {
    expect(() => encodeMethodCall({ ...manager, member: 'StartUnit', signature: 'ss', args: ['a.service'] }, 1)).toThrow(/does not match/);
    expect(() => encodeMethodCall({ ...manager, member: 'X', signature: 'a{sv}', args: [[]] }, 1)).toThrow(/not supported/);
  });
});

describe('D-Bus messages from the manager', () => {
  it('decode a method reply, a signal and a variant', () => {
    const reply = decodeMessage(hex(START_REPLY));
    expect(reply).toMatchObject({ type: MESSAGE.methodReturn, replySerial: 1, signature: 'o' });
    expect(decodeBody(reply)).toEqual(['/org/freedesktop/systemd1/job/90549']);

    const removed = decodeMessage(hex(JOB_REMOVED));
    expect(removed).toMatchObject({ type: MESSAGE.signal, member: 'JobRemoved', interface: 'org.freedesktop.systemd1.Manager' });
    expect(decodeBody(removed)).toEqual([90549, '/org/freedesktop/systemd1/job/90549', 'xq@t.service', 'done']);

    const got = decodeMessage(hex(GET_BOOLEAN_REPLY));
    expect(decodeBody(got)).toEqual([{ signature: 'b', value: false }]);
  });

  it('skip a header field of a type the client has no use for', () => {
    // A signal (serial 7) whose header has MEMBER "Ping" and an unknown field 0x20 of type "as" holding ["a", "b"].
    const fields = Buffer.from(
      '03017300' + '04000000' + '50696e6700' + '000000' + '2002617300' + '000000' + '0e000000' + '010000006100' + '0000' + '010000006200',
      'hex',
    );
    const header = Buffer.alloc(16);
    header.write('l', 0, 'latin1');
    header.writeUInt8(MESSAGE.signal, 1);
    header.writeUInt8(1, 3);
    header.writeUInt32LE(0, 4);
    header.writeUInt32LE(7, 8);
    header.writeUInt32LE(fields.length, 12);
    const message = Buffer.concat([header, fields, Buffer.alloc((8 - (fields.length % 8)) % 8)]);
    expect(messageLength(message)).toBe(message.length);
    expect(decodeMessage(message)).toMatchObject({ type: MESSAGE.signal, serial: 7, member: 'Ping', signature: '' });
  });

  it('measure a message only once all of it is there, across chunks', () => {
    const whole = Buffer.concat([hex(START_REPLY), hex(JOB_REMOVED)]);
    expect(messageLength(whole.subarray(0, 10))).toBeUndefined();
    expect(messageLength(whole)).toBe(hex(START_REPLY).length);
    expect(messageLength(whole.subarray(hex(START_REPLY).length))).toBe(hex(JOB_REMOVED).length);
    expect(() => messageLength(Buffer.from('OK 1234567890abcdef\r\n'))).toThrow(/not a D-Bus message/);
  });

  it('decode what they encode, with arrays, structs and padding', () => {
    // A call decodes with the same reader: its body is what the manager will read.
    const call = decodeMessage(encodeMethodCall({ ...manager, member: 'M', signature: 'sasub', args: ['x', ['a', 'bc', ''], 7, true] }, 9));
    expect(call).toMatchObject({ type: MESSAGE.methodCall, serial: 9, member: 'M', signature: 'sasub' });
    expect(decodeBody(call)).toEqual(['x', ['a', 'bc', ''], 7, true]);
  });

  it('split signatures into complete types', () => {
    expect(splitSignature('sa(ssssssouso)a{sv}v')).toEqual(['s', 'a(ssssssouso)', 'a{sv}', 'v']);
    expect(() => splitSignature('a(ss')).toThrow(/bad D-Bus signature/);
    expect(() => splitSignature('z')).toThrow(/bad D-Bus signature/);
  });
});
