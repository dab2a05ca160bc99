// Upstream answers kept for their TTL (at most 30 s, as k3s's CoreDNS `cache 30`), so the names
// every pod asks again and again (registries, APIs, search-path expansions that reach the
// upstream) cost one hop, not two. The bytes are kept as the upstream sent them; a hit gets the
// client's ID and RD bit and every TTL lowered by the time it spent here. Only plain answers are
// kept: NOERROR or NXDOMAIN, not truncated, with a TTL to go by.

export interface ForwardCacheOptions {
  /** Longest time any answer is kept, seconds. */
  maxTtl: number;
  maxEntries: number;
  now: () => number;
}

interface Entry {
  buf: Buffer;
  storedAt: number;
  ttl: number;
  /** Offsets of each record's TTL field (OPT excluded: its TTL field holds flags). */
  ttlOffsets: number[];
}

const DEFAULTS: ForwardCacheOptions = { maxTtl: 30, maxEntries: 1000, now: () => performance.now() };

export class ForwardCache {
  private readonly entries = new Map<string, Entry>();
  private readonly opts: ForwardCacheOptions;

  constructor(opts: Partial<ForwardCacheOptions> = {}) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  get size() {
    return this.entries.size;
  }

  /** The kept answer for `key`, re-addressed to this query, or undefined. */
  get(key: string, id: number, rd: boolean): Buffer | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const elapsed = Math.floor((this.opts.now() - e.storedAt) / 1000);
    if (elapsed >= e.ttl) {
      this.entries.delete(key);
      return undefined;
    }
    const out = Buffer.from(e.buf);
    out.writeUInt16BE(id, 0);
    out[2] = (out[2]! & ~0x01) | (rd ? 0x01 : 0);
    if (elapsed > 0) for (const at of e.ttlOffsets) out.writeUInt32BE(Math.max(0, out.readUInt32BE(at) - elapsed), at);
    return out;
  }

  /** Keeps `answer` when it is worth keeping. */
  set(key: string, answer: Buffer) {
    const flags = answer.length >= 12 ? answer.readUInt16BE(2) : 0;
    const rcode = flags & 0xf;
    if ((flags & 0x0200) !== 0 || (rcode !== 0 && rcode !== 3)) return;
    const ttls = readTtls(answer);
    if (!ttls || ttls.offsets.length === 0) return;
    const ttl = Math.min(ttls.min, this.opts.maxTtl);
    if (ttl <= 0) return;
    if (this.entries.size >= this.opts.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { buf: Buffer.from(answer), storedAt: this.opts.now(), ttl, ttlOffsets: ttls.offsets });
  }
}

/** Skips a (possibly compressed) name; the offset after it, or -1 when malformed. */
function skipName(buf: Buffer, off: number): number {
  for (let guard = 0; guard < 128; guard++) {
    if (off >= buf.length) return -1;
    const len = buf[off]!;
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= buf.length ? off + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    off += 1 + len;
  }
  return -1;
}

/**
 * Where each record's TTL is, and the smallest TTL (for a negative answer, the SOA's own TTL
 * capped by its minimum field, RFC 2308). Undefined when the message does not parse.
 */
export function readTtls(buf: Buffer): { offsets: number[]; min: number } | undefined {
  if (buf.length < 12) return undefined;
  const qd = buf.readUInt16BE(4);
  const rrs = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10);
  let off = 12;
  for (let i = 0; i < qd; i++) {
    off = skipName(buf, off);
    if (off < 0 || off + 4 > buf.length) return undefined;
    off += 4;
  }
  const offsets: number[] = [];
  let min = Infinity;
  for (let i = 0; i < rrs; i++) {
    off = skipName(buf, off);
    if (off < 0 || off + 10 > buf.length) return undefined;
    const type = buf.readUInt16BE(off);
    const rdlen = buf.readUInt16BE(off + 8);
    if (off + 10 + rdlen > buf.length) return undefined;
    if (type !== 41) {
      let ttl = buf.readUInt32BE(off + 4);
      if (type === 6) {
        // SOA: MINIMUM is the last 4 bytes of its RDATA.
        ttl = Math.min(ttl, buf.readUInt32BE(off + 10 + rdlen - 4));
      }
      offsets.push(off + 4);
      min = Math.min(min, ttl);
    }
    off += 10 + rdlen;
  }
  return { offsets, min: min === Infinity ? 0 : min };
}
