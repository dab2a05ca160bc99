// SPDY/3.1 framing, as much of it as port-forwarding uses. kubectl 1.31+ speaks SPDY tunnelled
// through a WebSocket (subprotocol "SPDY/3.1+portforward.k8s.io"): each binary message carries
// bytes of one SPDY byte stream, not whole frames, so FrameParser reassembles frames across
// messages. Flow control (WINDOW_UPDATE) is not enforced in either direction, as in
// moby/spdystream, which both kubectl and upstream's kubelet use; the WebSocket's own
// backpressure does that job.
import { SPDY3_HEADER_DICTIONARY } from "./spdy-dictionary";

// node:zlib adds a few MB of RSS once loaded; an agent loads it with its first port-forward.
let zlib: typeof import("node:zlib") | undefined;
const loadZlib = () => (zlib ??= require("node:zlib") as typeof import("node:zlib"));

export const CONTROL = { synStream: 1, synReply: 2, rstStream: 3, settings: 4, ping: 6, goAway: 7, headers: 8, windowUpdate: 9 } as const;
export const FLAG_FIN = 0x01;
/** RST_STREAM status codes. */
export const RST = { protocolError: 1, invalidStream: 2, refusedStream: 3, cancel: 5, internalError: 6 } as const;

export type Frame =
  | { control: false; streamId: number; flags: number; data: Uint8Array }
  | { control: true; type: number; flags: number; payload: Uint8Array };

/** Frames bigger than this are a protocol error (SPDY allows 16 MB; nothing here needs that). */
const MAX_FRAME = 1 << 24;

/** Cuts a byte stream into frames; bytes of an unfinished frame wait for the next push. */
export class FrameParser {
  private buf: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): Frame[] {
    this.buf = this.buf.length ? concat(this.buf, chunk) : chunk;
    const frames: Frame[] = [];
    let off = 0;
    while (this.buf.length - off >= 8) {
      const b = this.buf;
      const length = (b[off + 5]! << 16) | (b[off + 6]! << 8) | b[off + 7]!;
      if (length >= MAX_FRAME) throw new Error(`SPDY frame of ${length} bytes`);
      if (b.length - off < 8 + length) break;
      const flags = b[off + 4]!;
      const body = b.subarray(off + 8, off + 8 + length);
      if (b[off]! & 0x80) {
        const version = ((b[off]! & 0x7f) << 8) | b[off + 1]!;
        if (version !== 3) throw new Error(`SPDY version ${version} is not spoken (only 3)`);
        frames.push({ control: true, type: (b[off + 2]! << 8) | b[off + 3]!, flags, payload: body });
      } else {
        frames.push({ control: false, streamId: readU31(b, off), flags, data: body });
      }
      off += 8 + length;
    }
    // Keep only the unparsed tail (a copy, so a large message is not pinned by a few bytes).
    this.buf = off === 0 ? this.buf : this.buf.slice(off);
    return frames;
  }
}

export function dataFrame(streamId: number, data: Uint8Array, fin = false): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  writeU32(out, 0, streamId & 0x7fffffff);
  out[4] = fin ? FLAG_FIN : 0;
  writeU24(out, 5, data.length);
  out.set(data, 8);
  return out;
}

export function controlFrame(type: number, flags: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  out[0] = 0x80;
  out[1] = 3;
  out[2] = type >> 8;
  out[3] = type & 0xff;
  out[4] = flags;
  writeU24(out, 5, payload.length);
  out.set(payload, 8);
  return out;
}

export const u32s = (...values: number[]) => {
  const out = new Uint8Array(values.length * 4);
  values.forEach((v, i) => writeU32(out, i * 4, v));
  return out;
};

export const synReplyFrame = (streamId: number, block: Uint8Array, fin = false) => controlFrame(CONTROL.synReply, fin ? FLAG_FIN : 0, concat(u32s(streamId), block));
export const rstStreamFrame = (streamId: number, status: number) => controlFrame(CONTROL.rstStream, 0, u32s(streamId, status));
export const goAwayFrame = (lastGoodStreamId: number, status = 0) => controlFrame(CONTROL.goAway, 0, u32s(lastGoodStreamId, status));
/** SYN_STREAM: stream id, associated stream 0, priority 0, slot 0, then the header block. */
export const synStreamFrame = (streamId: number, block: Uint8Array, flags = 0) => controlFrame(CONTROL.synStream, flags, concat(u32s(streamId, 0), new Uint8Array(2), block));

export type Headers = Map<string, string[]>;

/**
 * Reads the peer's header blocks: one zlib stream per direction, primed with the SPDY
 * dictionary and sync-flushed after every block. A sync flush ends the deflate block, so each
 * frame's bytes start a fresh block whose back-references reach at most 32 KB into what was
 * decoded before: a raw inflate of one frame with that window as its dictionary decodes it,
 * synchronously, without keeping a zlib stream open between frames.
 */
export class HeaderDecoder {
  private window: Buffer = SPDY3_HEADER_DICTIONARY;
  private started = false;

  decode(compressed: Uint8Array): Headers {
    let raw = compressed;
    if (!this.started) {
      if (raw.length < 2 || (raw[0]! & 0x0f) !== 8) throw new Error("the first SPDY header block is not a zlib stream");
      raw = raw.subarray(raw[1]! & 0x20 ? 6 : 2); // the zlib header, and the dictionary id when present
      this.started = true;
    }
    const { inflateRawSync, constants } = loadZlib();
    const out = inflateRawSync(raw, { dictionary: this.window, finishFlush: constants.Z_SYNC_FLUSH });
    this.window = Buffer.concat([this.window, out]).subarray(-32768);
    return parseHeaderBlock(out);
  }
}

/**
 * Writes header blocks the peer's zlib reader accepts: stored (uncompressed) deflate blocks,
 * each followed by the empty block of a sync flush, after a zlib header with no dictionary.
 * Replies here carry almost no headers, so compressing them would save nothing.
 */
export class HeaderEncoder {
  private started = false;

  encode(headers: Record<string, string> = {}): Uint8Array {
    const pairs = Object.entries(headers);
    const parts: Uint8Array[] = [u32s(pairs.length)];
    for (const [k, v] of pairs) {
      const name = new TextEncoder().encode(k.toLowerCase());
      const value = new TextEncoder().encode(v);
      parts.push(u32s(name.length), name, u32s(value.length), value);
    }
    const block = concat(...parts);
    if (block.length > 0xffff) throw new Error("header block too large");
    const stored = new Uint8Array([0x00, block.length & 0xff, block.length >> 8, ~block.length & 0xff, (~block.length >> 8) & 0xff]);
    const syncFlush = new Uint8Array([0x00, 0x00, 0x00, 0xff, 0xff]);
    const zlibHeader = this.started ? new Uint8Array(0) : new Uint8Array([0x78, 0x01]);
    this.started = true;
    return concat(zlibHeader, stored, block, syncFlush);
  }
}

/** name/value pairs with 32-bit lengths; a value may hold several, separated by NUL. */
export function parseHeaderBlock(b: Uint8Array): Headers {
  const headers: Headers = new Map();
  const text = new TextDecoder();
  const need = (off: number, n: number) => {
    if (off + n > b.length) throw new Error("truncated SPDY header block");
  };
  need(0, 4);
  const count = readU32(b, 0);
  let off = 4;
  for (let i = 0; i < count; i++) {
    need(off, 4);
    const nl = readU32(b, off);
    need(off + 4, nl + 4);
    const name = text.decode(b.subarray(off + 4, off + 4 + nl)).toLowerCase();
    off += 4 + nl;
    const vl = readU32(b, off);
    need(off + 4, vl);
    headers.set(name, [...(headers.get(name) ?? []), ...text.decode(b.subarray(off + 4, off + 4 + vl)).split("\0")]);
    off += 4 + vl;
  }
  return headers;
}

export const readU32 = (b: Uint8Array, off: number) => ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
export const readU31 = (b: Uint8Array, off: number) => readU32(b, off) & 0x7fffffff;

function writeU32(b: Uint8Array, off: number, v: number) {
  b[off] = (v >>> 24) & 0xff;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

function writeU24(b: Uint8Array, off: number, v: number) {
  b[off] = (v >>> 16) & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = v & 0xff;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
