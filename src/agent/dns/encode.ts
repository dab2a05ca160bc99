// Encoding our own responses, with name compression (RFC 1035 4.1.4), which dns-packet does not
// do. It matters for headless Services: a stub resolver without EDNS (glibc's default) takes 512
// bytes over UDP; uncompressed, ten A records with 30-character names fill that, compressed about
// thirty (each repeats the question's name as a 2-byte pointer). What does not fit is cut at a
// record boundary with TC set, so a resolver that does not retry over TCP (musl before 1.2.4)
// still gets the records that fit, as CoreDNS does. Record types other than ours return
// undefined: the caller falls back to dns-packet.
import type { Answer, Question } from "dns-packet";

export interface Response {
  id: number;
  /** Header flags without QR (set here); TC is added when records are cut. */
  flags: number;
  question: Question;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /** Appends an OPT record announcing this UDP payload size. */
  ednsUdpSize?: number;
}

const TYPE: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, AAAA: 28, SRV: 33, ANY: 255 };
const CLASS: Record<string, number> = { IN: 1, CH: 3, HS: 4, ANY: 255 };
const QR = 0x8000;
const TC = 0x0200;
const OPT_SIZE = 11;

class Writer {
  buf: Buffer;
  off = 0;
  /** Name suffix (as written) → offset, for compression pointers. */
  private readonly names = new Map<string, number>();
  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }
  private room(n: number) {
    if (this.off + n <= this.buf.length) return;
    const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(bigger, 0, 0, this.off);
    this.buf = bigger;
  }
  u8(v: number) {
    this.room(1);
    this.buf[this.off++] = v;
  }
  u16(v: number) {
    this.room(2);
    this.buf.writeUInt16BE(v, this.off);
    this.off += 2;
  }
  u32(v: number) {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.off);
    this.off += 4;
  }
  /** A domain name; `compress` false for fields RFC 2782 forbids it in (SRV target). */
  name(name: string, compress = true) {
    const labels = name.replace(/\.$/, "").split(".").filter((l) => l.length > 0);
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join(".");
      const at = compress ? this.names.get(suffix) : undefined;
      if (at !== undefined) return this.u16(0xc000 | at);
      if (compress && this.off < 0x3fff && !this.names.has(suffix)) this.names.set(suffix, this.off);
      const bytes = Buffer.from(labels[i]!, "latin1");
      if (bytes.length > 63) throw new Error(`label too long in ${name}`);
      this.u8(bytes.length);
      this.room(bytes.length);
      bytes.copy(this.buf, this.off);
      this.off += bytes.length;
    }
    this.u8(0);
  }
  ipv4(ip: string) {
    for (const part of ip.split(".")) this.u8(Number(part));
  }
}

/** Writes one record; false for a type this encoder does not know. */
function record(w: Writer, rr: Answer): boolean {
  const type = TYPE[rr.type];
  if (type === undefined || (rr.type as string) === "ANY") return false;
  const r = rr as { name: string; ttl?: number; class?: string; data: unknown };
  w.name(r.name);
  w.u16(type);
  w.u16(CLASS[r.class ?? "IN"] ?? 1);
  w.u32(r.ttl ?? 0);
  const lengthAt = w.off;
  w.u16(0);
  const start = w.off;
  switch (rr.type) {
    case "A":
      w.ipv4(rr.data);
      break;
    case "AAAA":
      return false; // never ours; the rare upstream AAAA (ExternalName chase) takes the fallback
    case "CNAME":
    case "PTR":
    case "NS":
      w.name(rr.data);
      break;
    case "SRV":
      w.u16(rr.data.priority ?? 0);
      w.u16(rr.data.weight ?? 0);
      w.u16(rr.data.port);
      w.name(rr.data.target, false);
      break;
    case "SOA":
      w.name(rr.data.mname);
      w.name(rr.data.rname);
      w.u32(rr.data.serial ?? 0);
      w.u32(rr.data.refresh ?? 0);
      w.u32(rr.data.retry ?? 0);
      w.u32(rr.data.expire ?? 0);
      w.u32(rr.data.minimum ?? 0);
      break;
    default:
      return false;
  }
  w.buf.writeUInt16BE(w.off - start, lengthAt);
  return true;
}

/**
 * The response in at most `limit` bytes: records that do not fit are left out (whole sections
 * after the first cut), TC set, the OPT record kept. Undefined when a record's type is not ours.
 */
export function encodeResponse(res: Response, limit: number): Buffer | undefined {
  const w = new Writer(Math.min(limit, 1232) + 64);
  w.u16(res.id);
  w.u16(0); // flags, once we know about truncation
  w.u16(1);
  w.u16(0);
  w.u16(0);
  w.u16(0);
  w.name(res.question.name);
  const qtype = TYPE[res.question.type];
  if (qtype === undefined) return undefined;
  w.u16(qtype);
  w.u16(CLASS[res.question.class ?? "IN"] ?? 1);
  const budget = limit - (res.ednsUdpSize !== undefined ? OPT_SIZE : 0);
  let truncated = false;
  const counts = [0, 0, 0];
  const sections = [res.answers, res.authorities, res.additionals];
  for (let s = 0; s < 3 && !truncated; s++) {
    for (const rr of sections[s]!) {
      const before = w.off;
      if (!record(w, rr)) return undefined;
      if (w.off > budget) {
        w.off = before;
        // Missing additional records are no reason for TC (RFC 2181 9); missing answers are.
        truncated = s < 2;
        break;
      }
      counts[s]!++;
    }
  }
  if (res.ednsUdpSize !== undefined) {
    w.u8(0); // root
    w.u16(41);
    w.u16(res.ednsUdpSize);
    w.u32(0);
    w.u16(0);
  }
  w.buf.writeUInt16BE(QR | res.flags | (truncated ? TC : 0), 2);
  w.buf.writeUInt16BE(counts[0]!, 6);
  w.buf.writeUInt16BE(counts[1]!, 8);
  w.buf.writeUInt16BE(counts[2]! + (res.ednsUdpSize !== undefined ? 1 : 0), 10);
  return Buffer.from(w.buf.subarray(0, w.off));
}
