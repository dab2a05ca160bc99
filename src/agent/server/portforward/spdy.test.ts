import { expect, test } from "bun:test";
import { constants, createDeflate, inflateSync } from "node:zlib";
import { concat, controlFrame, dataFrame, FrameParser, HeaderDecoder, HeaderEncoder, parseHeaderBlock, u32s } from "./spdy";
import { SPDY3_HEADER_DICTIONARY } from "./spdy-dictionary";

const block = (h: Record<string, string>) => {
  const enc = new TextEncoder();
  const parts = [u32s(Object.keys(h).length)];
  for (const [k, v] of Object.entries(h)) parts.push(u32s(k.length), enc.encode(k), u32s(enc.encode(v).length), enc.encode(v));
  return concat(...parts);
};

/** One zlib stream primed with the SPDY dictionary, sync-flushed per block: what Go's spdy framer writes. */
async function goLikeCompressor() {
  const z = createDeflate({ level: 9, dictionary: SPDY3_HEADER_DICTIONARY });
  const out: Buffer[] = [];
  z.on("data", (c: Buffer) => out.push(c));
  return async (b: Uint8Array) => {
    z.write(b);
    await new Promise<void>((r) => z.flush(constants.Z_SYNC_FLUSH, () => r()));
    await Bun.sleep(0);
    return Buffer.concat(out.splice(0));
  };
}

test("the dictionary is SPDY/3's", () => {
  expect(SPDY3_HEADER_DICTIONARY.length).toBe(1423);
  expect(Bun.hash.adler32(SPDY3_HEADER_DICTIONARY)).toBe(0xe3c6a7c2);
});

test("header blocks of one compressed stream decode frame by frame, back-references across frames included", async () => {
  const compress = await goLikeCompressor();
  const dec = new HeaderDecoder();
  for (let i = 0; i < 200; i++) {
    const h = { streamtype: i % 2 ? "data" : "error", port: String(8000 + (i % 3)), requestid: String(i >> 1) };
    const compressed = await compress(block(h));
    const got = dec.decode(compressed);
    expect(Object.fromEntries([...got].map(([k, v]) => [k, v.join(",")]))).toEqual(h);
  }
});

test("the blocks written are one zlib stream a standard reader decodes", () => {
  const enc = new HeaderEncoder();
  const blocks = [enc.encode(), enc.encode({ Port: "80" }), enc.encode({ a: "1", b: "x\0y" })];
  const out = inflateSync(Buffer.concat(blocks), { finishFlush: constants.Z_SYNC_FLUSH });
  const first = parseHeaderBlock(out.subarray(0, 4));
  expect(first.size).toBe(0);
  const rest = out.subarray(4);
  const second = parseHeaderBlock(rest);
  expect(second.get("port")).toEqual(["80"]);
  const third = parseHeaderBlock(rest.subarray(4 + 4 + 4 + 4 + 2));
  expect(third.get("b")).toEqual(["x", "y"]);
});

test("frames split anywhere across messages are reassembled", () => {
  const frames = concat(dataFrame(3, new Uint8Array([1, 2, 3]), true), controlFrame(6, 0, u32s(7)), dataFrame(5, new Uint8Array(70_000)));
  for (const cut of [1, 7, 8, 9, 12, 20, 100, frames.length - 1]) {
    const p = new FrameParser();
    const got = [...p.push(frames.subarray(0, cut)), ...p.push(frames.subarray(cut))];
    expect(got.map((f) => (f.control ? `c${f.type}` : `d${f.streamId}:${f.data.length}:${f.flags}`))).toEqual(["d3:3:1", "c6", "d5:70000:0"]);
  }
});

test("a wrong SPDY version is an error, not a guess", () => {
  const f = controlFrame(6, 0, u32s(1));
  f[1] = 2;
  expect(() => new FrameParser().push(f)).toThrow("SPDY version 2");
});

test("a truncated header block is an error", () => {
  expect(() => parseHeaderBlock(u32s(2, 5))).toThrow("truncated");
});
