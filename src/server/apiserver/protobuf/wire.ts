// The protobuf wire format, read defensively: every length and varint is bounds-checked, so a
// malformed body ends in a 400 (never a crash, an out-of-range read or a loop without progress).
import { badRequest } from "../../../api/errors";

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const malformed = (what: string) => badRequest(`the protobuf body could not be decoded: ${what}`);

const utf8 = new TextDecoder("utf-8");

export class Reader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  // The last varint read, as two 32-bit halves (numbers, not bigints: this is the hot path).
  private lo = 0;
  private hi = 0;

  /** Reads a varint of up to 64 bits into lo/hi. */
  private varint64(): void {
    let lo = 0, hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw malformed("truncated varint");
      const b = this.buf[this.pos++]!;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28; // the low 4 bits land in lo, the rest in hi
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    throw malformed("varint longer than 10 bytes");
  }

  /** An unsigned varint that must fit in 2^53 (tags, lengths). */
  private uvarint(): number {
    this.varint64();
    if (this.hi >= 0x200000) throw malformed("varint out of range");
    return this.hi * 0x1_0000_0000 + this.lo;
  }

  int32(): number {
    this.varint64();
    return this.lo | 0;
  }

  /** int64 as a number (exact up to 2^53, as JSON numbers are). */
  int64(): number {
    this.varint64();
    return (this.hi | 0) * 0x1_0000_0000 + this.lo;
  }

  bool(): boolean {
    this.varint64();
    return this.lo !== 0 || this.hi !== 0;
  }

  /** Field number and wire type of the next field. */
  tag(): { field: number; wire: number } {
    const t = this.uvarint();
    const field = Math.floor(t / 8);
    if (field === 0 || field > 0x1fffffff) throw malformed(`invalid field number ${field}`);
    return { field, wire: t % 8 };
  }

  /** A length-delimited payload's bounds, checked against the enclosing message. */
  lengthDelimited(): { start: number; end: number } {
    const len = this.uvarint();
    if (len > this.end - this.pos) throw malformed("length-delimited field runs past the end of its message");
    const start = this.pos;
    this.pos += len;
    return { start, end: this.pos };
  }

  bytes(): Uint8Array {
    const { start, end } = this.lengthDelimited();
    return this.buf.subarray(start, end);
  }

  string(): string {
    const b = this.bytes();
    // Short ASCII strings (names, labels, most values) without a TextDecoder call each.
    if (b.length < 64) {
      let ascii = "";
      for (let i = 0; i < b.length; i++) {
        if (b[i]! >= 0x80) return utf8.decode(b);
        ascii += String.fromCharCode(b[i]!);
      }
      return ascii;
    }
    return utf8.decode(b);
  }

  /** Skips a field this decoder does not know (newer upstream fields): forward compatibility. */
  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint64();
        return;
      case WIRE_LEN:
        this.lengthDelimited();
        return;
      case WIRE_FIXED64:
        return this.advance(8);
      case WIRE_FIXED32:
        return this.advance(4);
      default:
        throw malformed(`unsupported wire type ${wire}`);
    }
  }

  private advance(n: number): void {
    if (this.end - this.pos < n) throw malformed("truncated fixed-width field");
    this.pos += n;
  }
}

export { malformed };
