/**
 * D-Bus messages (the wire format of the D-Bus specification), as much of it as a client of systemd's
 * manager needs: method calls out; replies, errors and signals in, with bodies of any signature.
 * Values decode to plain JS: strings (s, o, g), numbers (y, n, q, i, u, h, d), bigints (x, t), booleans,
 * arrays, tuples for structs, [key, value] tuples for dict entries, and { signature, value } for variants.
 */

export const MESSAGE = { methodCall: 1, methodReturn: 2, error: 3, signal: 4 } as const;

const FIELD = { path: 1, interface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, signature: 8 } as const;

/** Flag of a method call: no reply wanted. */
const NO_REPLY_EXPECTED = 0x1;
const FIXED_HEADER_BYTES = 16;
/** The specification's limit for one message. */
export const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

export type DBusValue = string | number | bigint | boolean | DBusValue[] | { signature: string; value: DBusValue };

export interface DBusMessage {
  type: number;
  serial: number;
  replySerial?: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  signature: string;
  /** The body's bytes; decode with `decodeBody`. */
  body: Buffer;
  littleEndian: boolean;
}

export interface MethodCall {
  path: string;
  interface: string;
  member: string;
  destination?: string;
  /** Only the types a call to the manager uses: s, o, g, u, b and arrays of strings. */
  signature?: string;
  args?: (string | number | boolean | string[])[];
}

const ALIGN: Record<string, number> = {
  y: 1,
  b: 4,
  n: 2,
  q: 2,
  i: 4,
  u: 4,
  x: 8,
  t: 8,
  d: 8,
  s: 4,
  o: 4,
  g: 1,
  a: 4,
  '(': 8,
  '{': 8,
  v: 1,
  h: 4,
};

/** Little-endian writer with the specification's alignment (offsets from the message start). */
class Writer {
  private buf = Buffer.alloc(256);
  length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + extra));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  align(n: number): void {
    const pad = (n - (this.length % n)) % n;
    this.ensure(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  byte(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }

  uint32(v: number): void {
    this.align(4);
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.length);
    this.length += 4;
  }

  setUint32(at: number, v: number): void {
    this.buf.writeUInt32LE(v >>> 0, at);
  }

  string(v: string): void {
    const bytes = Buffer.from(v, 'utf8');
    this.uint32(bytes.length);
    this.raw(bytes);
    this.byte(0);
  }

  signature(v: string): void {
    const bytes = Buffer.from(v, 'ascii');
    this.byte(bytes.length);
    this.raw(bytes);
    this.byte(0);
  }

  raw(bytes: Buffer): void {
    this.ensure(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** Single complete types of a signature, in order ("sa(ss)b" → ["s", "a(ss)", "b"]). */
export function splitSignature(signature: string): string[] {
  const types: string[] = [];
  let i = 0;
  while (i < signature.length) {
    const end = completeTypeEnd(signature, i);
    types.push(signature.slice(i, end));
    i = end;
  }
  return types;
}

function completeTypeEnd(signature: string, start: number): number {
  const c = signature[start];
  if (c === 'a') return completeTypeEnd(signature, start + 1);
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    let i = start + 1;
    while (signature[i] !== close) {
      if (i >= signature.length) throw new Error(`bad D-Bus signature "${signature}"`);
      i = completeTypeEnd(signature, i);
    }
    return i + 1;
  }
  if (c === undefined || !(c in ALIGN)) throw new Error(`bad D-Bus signature "${signature}"`);
  return start + 1;
}

function writeArg(w: Writer, type: string, value: string | number | boolean | string[]): void {
  switch (type) {
    case 's':
    case 'o':
      w.string(String(value));
      return;
    case 'g':
      w.signature(String(value));
      return;
    case 'u':
      w.uint32(Number(value));
      return;
    case 'b':
      w.uint32(value === true ? 1 : 0);
      return;
    case 'as': {
      const items = value as string[];
      w.uint32(0);
      const lengthAt = w.length - 4;
      const start = w.length; // strings align to 4, as the length did: no padding before the first
      for (const item of items) w.string(item);
      w.setUint32(lengthAt, w.length - start);
      return;
    }
    default:
      throw new Error(`D-Bus argument type "${type}" is not supported by this client`);
  }
}

/**
 * The header of each kind of call, made once (a run sends ~100 of one kind, mostly before V8 optimises
 * anything): a call copies it and sets its flags, body length and serial.
 */
const headers = new Map<string, Buffer>();

function headerOf(call: MethodCall, signature: string): Buffer {
  const key = `${call.path}\0${call.interface}\0${call.member}\0${call.destination ?? ''}\0${signature}`;
  let header = headers.get(key);
  if (header) return header;
  const w = new Writer();
  w.byte('l'.charCodeAt(0));
  w.byte(MESSAGE.methodCall);
  w.byte(0); // flags, set per call
  w.byte(1);
  w.uint32(0); // body length, set per call
  w.uint32(0); // serial, set per call
  w.uint32(0); // header fields' byte length, set below
  const fieldsStart = w.length;
  const field = (code: number, type: 'o' | 's' | 'g', value: string): void => {
    w.align(8);
    w.byte(code);
    w.signature(type);
    if (type === 'g') w.signature(value);
    else w.string(value);
  };
  // In sd-bus's order, so a call is byte for byte what systemctl sends (the test compares them).
  field(FIELD.path, 'o', call.path);
  field(FIELD.member, 's', call.member);
  field(FIELD.interface, 's', call.interface);
  if (call.destination) field(FIELD.destination, 's', call.destination);
  if (signature) field(FIELD.signature, 'g', signature);
  w.setUint32(12, w.length - fieldsStart);
  w.align(8);
  header = Buffer.from(w.bytes());
  headers.set(key, header);
  return header;
}

/** A method call message, with the given serial. */
export function encodeMethodCall(call: MethodCall, serial: number, options: { noReply?: boolean } = {}): Buffer {
  const signature = call.signature ?? '';
  const types = splitSignature(signature);
  const args = call.args ?? [];
  if (types.length !== args.length) throw new Error(`${call.member}: signature "${signature}" does not match ${args.length} arguments`);
  // The body starts 8-aligned, so its own offsets align as the message's do.
  const body = new Writer();
  types.forEach((type, i) => writeArg(body, type, args[i]!));
  const header = headerOf(call, signature);
  const message = Buffer.allocUnsafe(header.length + body.length);
  header.copy(message, 0);
  message[2] = options.noReply ? NO_REPLY_EXPECTED : 0;
  message.writeUInt32LE(body.length, 4);
  message.writeUInt32LE(serial >>> 0, 8);
  body.bytes().copy(message, header.length);
  return message;
}

/** Bytes of the whole message that starts `chunk`, or undefined while it is incomplete. */
export function messageLength(chunk: Buffer): number | undefined {
  if (chunk.length < FIXED_HEADER_BYTES) return undefined;
  const little = chunk[0] === 0x6c; // 'l'
  if (!little && chunk[0] !== 0x42) throw new Error(`not a D-Bus message (endianness byte ${chunk[0]})`);
  const bodyLength = little ? chunk.readUInt32LE(4) : chunk.readUInt32BE(4);
  const fieldsLength = little ? chunk.readUInt32LE(12) : chunk.readUInt32BE(12);
  const total = FIXED_HEADER_BYTES + fieldsLength + ((8 - (fieldsLength % 8)) % 8) + bodyLength;
  if (total > MAX_MESSAGE_BYTES) throw new Error(`D-Bus message of ${total} bytes is over the limit`);
  return total;
}

/**
 * One whole message (as `messageLength` measured it): its header fields decoded, its body kept as bytes. The
 * fields are read by hand, not with the generic reader: the manager sends every connection every unit's
 * PropertiesChanged, ~10 per unit a start or stop touches, and all the client needs of most is their member.
 */
export function decodeMessage(bytes: Buffer): DBusMessage {
  const little = bytes[0] === 0x6c;
  const u32 = (at: number): number => (little ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const fieldsEnd = 16 + u32(12);
  if (fieldsEnd > bytes.length) throw new Error('D-Bus message ends inside its header');
  const message: DBusMessage = {
    type: bytes[1]!,
    serial: u32(8),
    signature: '',
    body: bytes.subarray(fieldsEnd + ((8 - (fieldsEnd % 8)) % 8)),
    littleEndian: little,
  };
  let at = 16;
  while (at < fieldsEnd) {
    at += (8 - (at % 8)) % 8; // each field is a struct
    const code = bytes[at]!;
    const typeLength = bytes[at + 1]!;
    const type = bytes.toString('latin1', at + 2, at + 2 + typeLength);
    at += 3 + typeLength;
    let value: string | number;
    if (type === 's' || type === 'o') {
      at += (4 - (at % 4)) % 4;
      const length = u32(at);
      value = bytes.toString('utf8', at + 4, at + 4 + length);
      at += 5 + length;
    } else if (type === 'g') {
      const length = bytes[at]!;
      value = bytes.toString('latin1', at + 1, at + 1 + length);
      at += 2 + length;
    } else if (type === 'u') {
      at += (4 - (at % 4)) % 4;
      value = u32(at);
      at += 4;
    } else {
      // A field this client has no use for, of another type: skipped, as the specification says to.
      const reader = new Reader(bytes, little, at);
      reader.read(type);
      at = reader.offset;
      continue;
    }
    if (at > fieldsEnd) throw new Error('D-Bus header field runs past the header');
    if (code === FIELD.path) message.path = String(value);
    else if (code === FIELD.interface) message.interface = String(value);
    else if (code === FIELD.member) message.member = String(value);
    else if (code === FIELD.errorName) message.errorName = String(value);
    else if (code === FIELD.replySerial) message.replySerial = Number(value);
    else if (code === FIELD.signature) message.signature = String(value);
  }
  return message;
}

/** The body's values, one per complete type of its signature. */
export function decodeBody(message: DBusMessage): DBusValue[] {
  // The body starts 8-aligned in the message, so alignment counts from its own start.
  const reader = new Reader(message.body, message.littleEndian, 0);
  return splitSignature(message.signature).map((type) => reader.read(type));
}

class Reader {
  offset: number;

  constructor(
    private readonly buf: Buffer,
    private readonly little: boolean,
    start: number,
  ) {
    this.offset = start;
  }

  align(n: number): void {
    this.offset += (n - (this.offset % n)) % n;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.buf.length) throw new Error('D-Bus message ends inside a value');
  }

  private u32(): number {
    this.align(4);
    this.need(4);
    const v = this.little ? this.buf.readUInt32LE(this.offset) : this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  read(type: string): DBusValue {
    const c = type[0];
    switch (c) {
      case 'y':
        this.need(1);
        return this.buf[this.offset++]!;
      case 'b':
        return this.u32() !== 0;
      case 'n':
      case 'q': {
        this.align(2);
        this.need(2);
        const at = this.offset;
        this.offset += 2;
        if (c === 'n') return this.little ? this.buf.readInt16LE(at) : this.buf.readInt16BE(at);
        return this.little ? this.buf.readUInt16LE(at) : this.buf.readUInt16BE(at);
      }
      case 'i':
      case 'h':
      case 'u': {
        const v = this.u32();
        return c === 'i' ? v | 0 : v;
      }
      case 'x':
      case 't':
      case 'd': {
        this.align(8);
        this.need(8);
        const at = this.offset;
        this.offset += 8;
        if (c === 'd') return this.little ? this.buf.readDoubleLE(at) : this.buf.readDoubleBE(at);
        if (c === 'x') return this.little ? this.buf.readBigInt64LE(at) : this.buf.readBigInt64BE(at);
        return this.little ? this.buf.readBigUInt64LE(at) : this.buf.readBigUInt64BE(at);
      }
      case 's':
      case 'o': {
        const length = this.u32();
        this.need(length + 1);
        const v = this.buf.toString('utf8', this.offset, this.offset + length);
        this.offset += length + 1;
        return v;
      }
      case 'g': {
        this.need(1);
        const length = this.buf[this.offset++]!;
        this.need(length + 1);
        const v = this.buf.toString('ascii', this.offset, this.offset + length);
        this.offset += length + 1;
        return v;
      }
      case 'v': {
        const signature = this.read('g') as string;
        return { signature, value: this.read(signature) };
      }
      case 'a': {
        const length = this.u32();
        const element = type.slice(1);
        this.align(ALIGN[element[0]!] ?? 1);
        const end = this.offset + length;
        this.need(length);
        const items: DBusValue[] = [];
        while (this.offset < end) items.push(this.read(element));
        return items;
      }
      case '(':
      case '{': {
        this.align(8);
        return splitSignature(type.slice(1, -1)).map((member) => this.read(member));
      }
      default:
        throw new Error(`bad D-Bus type "${type}"`);
    }
  }
}
