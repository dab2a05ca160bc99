// A fast reader for the one shape nearly every query has: a standard query, one question with
// an uncompressed name, and at most an EDNS OPT record. It reads only the bytes it needs
// (no objects per label), so a cached answer costs one Map lookup and a copy. Anything else
// returns undefined and goes through dns-packet's full decoder.
import type { Question, RecordClass, RecordType } from "dns-packet";

export interface QuickQuery {
  id: number;
  /** The RD bit as sent. */
  rd: boolean;
  question: Question;
  /** Offsets of the question section (name through class) in the message. */
  questionEnd: number;
  /** Whether an OPT record came with it, and the UDP payload size it announces. */
  edns?: { udpPayloadSize: number };
}

const TYPES: Record<number, RecordType | "ANY"> = { 1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV", 255: "ANY" };
const CLASSES: Record<number, RecordClass> = { 1: "IN", 3: "CH", 4: "HS", 255: "ANY" };

export function readQuery(msg: Buffer): QuickQuery | undefined {
  if (msg.length < 17) return undefined;
  const flags = msg.readUInt16BE(2);
  // QR=0, opcode QUERY, no truncation; exactly one question, no answers or authorities.
  if ((flags & 0xfa00) !== 0 || msg.readUInt16BE(4) !== 1 || msg.readUInt16BE(6) !== 0 || msg.readUInt16BE(8) !== 0) return undefined;
  const arcount = msg.readUInt16BE(10);
  if (arcount > 1) return undefined;
  let off = 12;
  let name = "";
  for (;;) {
    if (off >= msg.length) return undefined;
    const len = msg[off]!;
    if (len === 0) break;
    if (len > 63 || off + 1 + len > msg.length) return undefined; // a pointer, or broken
    const label = msg.toString("latin1", off + 1, off + 1 + len);
    // Dots or bytes outside printable ASCII inside a label: leave escaping to dns-packet.
    for (let i = 0; i < label.length; i++) {
      const c = label.charCodeAt(i);
      if (c <= 0x20 || c >= 0x7f || c === 0x2e) return undefined;
    }
    name = name ? `${name}.${label}` : label;
    off += 1 + len;
  }
  off += 1;
  if (off + 4 > msg.length) return undefined;
  const type = TYPES[msg.readUInt16BE(off)];
  const klass = CLASSES[msg.readUInt16BE(off + 2)];
  if (!type || !klass) return undefined;
  const questionEnd = off + 4;
  let edns: QuickQuery["edns"];
  if (arcount === 1) {
    // OPT: root name (0), type 41, class = UDP payload size, TTL, RDLENGTH (options ignored).
    if (questionEnd + 11 > msg.length || msg[questionEnd] !== 0 || msg.readUInt16BE(questionEnd + 1) !== 41) return undefined;
    edns = { udpPayloadSize: msg.readUInt16BE(questionEnd + 3) };
  } else if (questionEnd !== msg.length) return undefined;
  return { id: msg.readUInt16BE(0), rd: (flags & 0x0100) !== 0, question: { name, type: type as RecordType, class: klass }, questionEnd, edns };
}

/** Where the question section of any message ends (names may be compressed); -1 when malformed. */
export function questionSectionEnd(msg: Buffer): number {
  if (msg.length < 12) return -1;
  let off = 12;
  for (let i = msg.readUInt16BE(4); i > 0; i--) {
    for (let guard = 0; ; guard++) {
      if (off >= msg.length || guard > 127) return -1;
      const len = msg[off]!;
      if (len === 0) {
        off += 1;
        break;
      }
      if ((len & 0xc0) === 0xc0) {
        off += 2;
        break;
      }
      if ((len & 0xc0) !== 0) return -1;
      off += 1 + len;
    }
    off += 4;
  }
  return off <= msg.length ? off : -1;
}
