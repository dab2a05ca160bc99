// The protobuf wire format, written: the encoder side of wire.ts. Proto3 rules for scalars —
// a field holding its zero value ("" / false / 0) is not written, as Go's proto.Marshal does.
//
// Embedded messages are length-prefixed, and the length is only known once the message is
// written: `message()` leaves one byte for it (most messages are shorter than 128 bytes), writes
// the body in place, and moves the body up in the same buffer when its length needs more bytes.
// No buffer per message; a large message's bytes are moved once per nesting level.
import { WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "./wire";

const utf8 = new TextEncoder();

const varintSize = (n: number) => {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
};

export class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** An unsigned varint up to 2^53 (tags, lengths, non-negative int64 values). */
  private uvarint(n: number): void {
    this.reserve(10);
    this.len = this.putVarint(this.len, n);
  }

  /** Writes a varint at `at` (room already there); returns the position after it. */
  private putVarint(at: number, n: number): number {
    // Above 2^31 bit operators would truncate, so divide instead.
    while (n >= 0x80) {
      this.buf[at++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[at++] = n;
    return at;
  }

  private tag(field: number, wire: number): void {
    this.uvarint(field * 8 + wire);
  }

  private raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  /** int64 (varint). Negative values take ten bytes, two's complement, as protobuf requires. */
  int64(field: number, value: number | undefined): void {
    if (!value) return;
    if (!Number.isInteger(value)) throw new Error(`field ${field}: int64 value ${value} is not an integer`);
    this.tag(field, WIRE_VARINT);
    if (value >= 0) return this.uvarint(value);
    let v = BigInt.asUintN(64, BigInt(value));
    this.reserve(10);
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  bool(field: number, value: boolean | undefined): void {
    if (!value) return;
    this.tag(field, WIRE_VARINT);
    this.uvarint(1);
  }

  /** A bool inside a `oneof`: set means present, so false is written too. */
  oneofBool(field: number, value: boolean): void {
    this.tag(field, WIRE_VARINT);
    this.uvarint(value ? 1 : 0);
  }

  double(field: number, value: number | undefined): void {
    if (!value) return; // 0 is the default; -0 too, as Go's marshaller (it compares bits, but no schema here says -0)
    this.tag(field, WIRE_FIXED64);
    this.reserve(8);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 8).setFloat64(0, value, true);
    this.len += 8;
  }

  string(field: number, value: string | undefined): void {
    if (!value) return;
    this.bytes(field, utf8.encode(value));
  }

  /** A repeated string: every element is written, empty ones too (they are elements). */
  strings(field: number, values: readonly string[] | undefined): void {
    for (const v of values ?? []) this.bytes(field, utf8.encode(v));
  }

  bytes(field: number, value: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.uvarint(value.length);
    this.raw(value);
  }

  /**
   * An embedded message. It is always written, even when empty: for a singular message field
   * presence means something (an empty `Schema` is "anything", an absent one is no schema).
   */
  message(field: number, write: (w: Writer) => void): void {
    this.tag(field, WIRE_LEN);
    this.reserve(1);
    const lengthAt = this.len++;
    const start = this.len;
    write(this);
    const size = this.len - start;
    const extra = varintSize(size) - 1;
    if (extra > 0) {
      this.reserve(extra);
      this.buf.copyWithin(start + extra, start, this.len);
      this.len += extra;
    }
    this.putVarint(lengthAt, size); // exactly 1 + extra bytes, the room left for it
  }

  /** The bytes written so far (a view, not a copy). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}
