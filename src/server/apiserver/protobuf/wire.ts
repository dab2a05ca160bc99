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

  /** An unsigned varint of up to 64 bits, as a bigint (exact for int64 and negative int32). */
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw malformed("truncated varint");
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
    }
    throw malformed("varint longer than 10 bytes");
  }

  /** Field number and wire type of the next field. */
  tag(): { field: number; wire: number } {
    const t = this.varint();
    const field = Number(t >> 3n);
    if (field === 0 || field > 0x1fffffff) throw malformed(`invalid field number ${field}`);
    return { field, wire: Number(t & 7n) };
  }

  /** A length-delimited payload's bounds, checked against the enclosing message. */
  lengthDelimited(): { start: number; end: number } {
    const len = this.varint();
    if (len > BigInt(this.end - this.pos)) throw malformed("length-delimited field runs past the end of its message");
    const start = this.pos;
    this.pos += Number(len);
    return { start, end: this.pos };
  }

  bytes(): Uint8Array {
    const { start, end } = this.lengthDelimited();
    return this.buf.subarray(start, end);
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  /** Skips a field this decoder does not know (newer upstream fields): forward compatibility. */
  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
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
