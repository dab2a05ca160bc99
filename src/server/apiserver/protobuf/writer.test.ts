// The encoder's bytes, read by an independent decoder (protobufjs's Reader) and by our own.
import { describe, expect, test } from "bun:test";
import protobuf from "protobufjs";
import { Reader } from "./wire";
import { Writer } from "./writer";

describe("Writer", () => {
  test("varints at every byte-length boundary, also above 2^32, read back by protobufjs", () => {
    const values = [1, 127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 35 + 7, Number.MAX_SAFE_INTEGER];
    const w = new Writer();
    values.forEach((v, i) => w.int64(i + 1, v));
    const r = protobuf.Reader.create(w.finish());
    for (const [i, v] of values.entries()) {
      expect(r.uint32()).toBe(((i + 1) << 3) | 0);
      expect(protobuf.util.LongBits.from(r.int64() as any).toNumber()).toBe(v);
    }
    expect(r.pos).toBe(r.len);
  });

  test("negative int64 is ten bytes of two's complement", () => {
    const w = new Writer();
    w.int64(1, -1);
    w.int64(2, -300);
    const bytes = w.finish();
    expect([...bytes.subarray(0, 11)]).toEqual([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    const ours = new Reader(bytes);
    ours.tag();
    expect(ours.int64()).toBe(-1);
    ours.tag();
    expect(ours.int64()).toBe(-300);
  });

  test("doubles, strings, bools and embedded messages", () => {
    const w = new Writer();
    w.double(1, -2.5e-300);
    w.string(2, "héllo ✓");
    w.bool(3, true);
    const long = "x".repeat(300); // a length that needs a two-byte varint
    w.message(4, (m) => {
      m.string(1, long);
      m.message(2, () => {}); // empty but present
    });
    const r = protobuf.Reader.create(w.finish());
    expect(r.uint32()).toBe((1 << 3) | 1);
    expect(r.double()).toBe(-2.5e-300);
    expect(r.uint32()).toBe((2 << 3) | 2);
    expect(r.string()).toBe("héllo ✓");
    expect(r.uint32()).toBe((3 << 3) | 0);
    expect(r.bool()).toBe(true);
    expect(r.uint32()).toBe((4 << 3) | 2);
    const inner = protobuf.Reader.create(r.bytes());
    expect(r.pos).toBe(r.len);
    expect(inner.uint32()).toBe((1 << 3) | 2);
    expect(inner.string()).toBe(long);
    expect(inner.uint32()).toBe((2 << 3) | 2);
    expect(inner.bytes().length).toBe(0);
    expect(inner.pos).toBe(inner.len);
  });

  test("nested messages whose lengths need 1, 2 or 3 bytes are moved into place intact", () => {
    for (const n of [0, 1, 120, 124, 125, 126, 127, 128, 200, 16_370, 16_380, 16_384, 70_000]) {
      const text = "abcdefghij".repeat(Math.ceil(n / 10)).slice(0, n);
      const w = new Writer();
      w.string(9, "before"); // the nested messages do not start at offset 0
      w.message(1, (a) => {
        a.message(2, (b) => {
          b.message(3, (c) => c.string(4, text));
          b.bool(5, true);
        });
        a.string(6, "after");
      });
      const r = protobuf.Reader.create(w.finish());
      expect(r.uint32()).toBe((9 << 3) | 2);
      expect(r.string()).toBe("before");
      expect(r.uint32()).toBe((1 << 3) | 2);
      const a = protobuf.Reader.create(r.bytes());
      expect(r.pos).toBe(r.len);
      expect(a.uint32()).toBe((2 << 3) | 2);
      const b = protobuf.Reader.create(a.bytes());
      expect(a.uint32()).toBe((6 << 3) | 2);
      expect(a.string()).toBe("after");
      expect(b.uint32()).toBe((3 << 3) | 2);
      const c = protobuf.Reader.create(b.bytes());
      expect(b.uint32()).toBe((5 << 3) | 0);
      expect(b.bool()).toBe(true);
      if (n > 0) {
        expect(c.uint32()).toBe((4 << 3) | 2);
        expect(c.string()).toBe(text);
      }
      expect(c.pos).toBe(c.len);
    }
  });

  test("proto3 zero values are left out, except a oneof's bool and repeated strings' elements", () => {
    const w = new Writer();
    w.string(1, "");
    w.bool(2, false);
    w.int64(3, 0);
    w.double(4, 0);
    w.strings(5, []);
    expect(w.finish().length).toBe(0);
    w.oneofBool(6, false);
    w.strings(7, ["", "a"]);
    expect([...w.finish()]).toEqual([0x30, 0x00, 0x3a, 0x00, 0x3a, 0x01, 0x61]);
  });

  test("an int64 that is not an integer is refused", () => {
    expect(() => new Writer().int64(1, 1.5)).toThrow("not an integer");
  });
});
