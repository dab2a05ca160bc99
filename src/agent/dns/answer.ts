// One DNS message in, one out: read the query, let the resolver answer from the cluster
// records or hand it to the forwarder, encode the response. Shared by the UDP and TCP
// listeners; no sockets here. Answers from the cluster records are kept, encoded, until the
// records change (the same names are asked again and again: every pod start, every search-path
// miss), so a repeated question costs a Map lookup and a copy.
import * as dnsPacket from "dns-packet";
import type { Answer, Question } from "dns-packet";
import { encodeResponse } from "./encode";
import type { ForwardCache } from "./forward-cache";
import { readQuery } from "./question";
import type { ClusterRecords } from "./records";
import { RCODE, resolve, type Answered, type Rcode, type ResolverOptions } from "./resolver";
import type { Forwarder } from "./upstream";

const QR = 0x8000;
const AA = dnsPacket.AUTHORITATIVE_ANSWER;
const TC = dnsPacket.TRUNCATED_RESPONSE;
const RD = dnsPacket.RECURSION_DESIRED;
const RA = dnsPacket.RECURSION_AVAILABLE;
/** The largest UDP answer we send to EDNS clients (the 2020 DNS flag day's safe size). */
const EDNS_UDP_SIZE = 1232;

export interface QueryContext {
  records: ClusterRecords;
  forwarder: Forwarder;
  resolver: ResolverOptions;
  /** Encoded cluster answers; none when absent (tests of the uncached path). */
  cache?: AnswerCache;
  /** Upstream answers for their TTL; none when absent. */
  forwardCache?: ForwardCache;
}

/** Encoded answers by (size limit, EDNS, question bytes), dropped whole when the records change or it fills. */
export class AnswerCache {
  private readonly entries = new Map<string, Buffer>();
  private generation = -1;
  constructor(private readonly maxEntries = 2000) {}

  get(key: string, generation: number): Buffer | undefined {
    if (generation !== this.generation) {
      this.entries.clear();
      this.generation = generation;
      return undefined;
    }
    return this.entries.get(key);
  }

  set(key: string, generation: number, value: Buffer) {
    if (generation !== this.generation) return;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, value);
  }

  get size() {
    return this.entries.size;
  }
}

const udpLimit = (udp: boolean, ednsSize: number | undefined) => (!udp ? 65535 : ednsSize !== undefined ? Math.max(512, Math.min(ednsSize, EDNS_UDP_SIZE)) : 512);

/**
 * The response bytes for one query, or undefined when it deserves none (not a query, or too
 * broken to carry an ID). `udp`: whether the answer must fit a UDP datagram. Answers from the
 * cluster records come back synchronously (no promise, no extra allocation on the hot path);
 * forwarded ones as a promise.
 */
export function answerQuery(ctx: QueryContext, query: Buffer, udp: boolean): MaybePromise<Buffer | undefined> {
  const quick = readQuery(query);
  if (!quick) return answerSlowly(ctx, query, udp);
  const limit = udpLimit(udp, quick.edns?.udpPayloadSize);
  const generation = ctx.records.generation;
  const key = ctx.cache && `${limit}|${quick.edns ? 1 : 0}|${query.toString("latin1", 12, quick.questionEnd)}`;
  const hit = key && ctx.cache!.get(key, generation);
  if (hit) {
    const out = Buffer.from(hit);
    out.writeUInt16BE(quick.id, 0);
    out.writeUInt16BE((out.readUInt16BE(2) & ~RD) | (quick.rd ? RD : 0), 2);
    return out;
  }
  const res = resolve(ctx.records, quick.question, ctx.resolver);
  if (res.kind === "forward") {
    if (!ctx.forwardCache) return forwardOrFail(ctx, query, udp);
    const fkey = `${udp ? "u" : "t"}|${quick.edns?.udpPayloadSize ?? 0}|${query.toString("latin1", 12, quick.questionEnd)}`;
    const kept = ctx.forwardCache.get(fkey, quick.id, quick.rd);
    if (kept) return kept;
    return forwardOrFail(ctx, query, udp).then((out) => (ctx.forwardCache!.set(fkey, out), out));
  }
  if (res.chase) return chase(ctx, res, quick.question, quick.rd).then(() => encodeAnswer(quick.id, quick.rd, quick.question, res, Boolean(quick.edns), limit));
  const out = encodeAnswer(quick.id, quick.rd, quick.question, res, Boolean(quick.edns), limit);
  if (key) ctx.cache!.set(key, generation, out);
  return out;
}

export type MaybePromise<T> = T | Promise<T>;

async function forwardOrFail(ctx: QueryContext, query: Buffer, udp: boolean): Promise<Buffer> {
  return (await ctx.forwarder.forward(query, !udp)) ?? errorResponse(query, "SERVFAIL");
}

/** Whatever readQuery does not take: decoded in full, never cached. */
async function answerSlowly(ctx: QueryContext, query: Buffer, udp: boolean): Promise<Buffer | undefined> {
  if (query.length < 12 || (query.readUInt16BE(2) & QR) !== 0) return undefined;
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(query);
  } catch {
    return errorResponse(query, "FORMERR");
  }
  const opcode = (query.readUInt16BE(2) >> 11) & 0xf;
  if (opcode !== 0) return errorResponse(query, "NOTIMP");
  const q = packet.questions?.[0];
  if (!q || packet.questions!.length !== 1) return errorResponse(query, "FORMERR");
  const opt = packet.additionals?.find((a) => a.type === "OPT") as { udpPayloadSize?: number } | undefined;
  const res = resolve(ctx.records, q, ctx.resolver);
  if (res.kind === "forward") return (await ctx.forwarder.forward(query, !udp)) ?? errorResponse(query, "SERVFAIL");
  const rd = ((packet.flags ?? 0) & RD) !== 0;
  if (res.chase) await chase(ctx, res, q, rd);
  return encodeAnswer(packet.id ?? 0, rd, q, res, Boolean(opt), udpLimit(udp, opt ? (opt.udpPayloadSize ?? 512) : undefined));
}

function encodeAnswer(id: number, rd: boolean, q: Question, res: Answered, edns: boolean, limit: number): Buffer {
  const flags = (res.authoritative ? AA : 0) | (rd ? RD : 0) | RA | RCODE[res.rcode];
  const ours = encodeResponse({ id, flags, question: q, answers: res.answers, authorities: res.authorities, additionals: res.additionals, ednsUdpSize: edns ? EDNS_UDP_SIZE : undefined }, limit);
  if (ours) return ours;
  // Records of other types (an upstream's answer to an ExternalName chase): dns-packet, uncompressed.
  const additionals: Answer[] = [...res.additionals];
  if (edns) additionals.push({ type: "OPT", name: ".", udpPayloadSize: EDNS_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as unknown as Answer);
  const out = dnsPacket.encode({ type: "response", id, flags, questions: [q], answers: res.answers, authorities: res.authorities, additionals });
  if (out.length <= limit) return out;
  return dnsPacket.encode({ type: "response", id, flags: flags | TC, questions: [q], additionals: edns ? additionals.slice(-1) : [] });
}

/** ExternalName to a name outside the zone: the CNAME plus whatever the upstreams say about its target. */
async function chase(ctx: QueryContext, res: Answered, q: Question, rd: boolean) {
  const id = Math.floor(Math.random() * 65536);
  const sub = dnsPacket.encode({ type: "query", id, flags: rd ? RD : 0, questions: [{ name: res.chase!, type: q.type, class: "IN" }] });
  const reply = await ctx.forwarder.forward(sub, false);
  if (!reply) return;
  try {
    const decoded = dnsPacket.decode(reply);
    res.answers.push(...(decoded.answers ?? []));
    res.rcode = (decoded as { rcode?: Rcode }).rcode ?? res.rcode;
  } catch {
    /* an undecodable upstream answer leaves the CNAME alone */
  }
}

/** A response with the query's ID and, when it parses, its question; no records. */
export function errorResponse(query: Buffer, rcode: Rcode): Buffer {
  const flagsIn = query.readUInt16BE(2);
  // Echo the question when it parses, so stub resolvers can match the answer to what they asked.
  try {
    const p = dnsPacket.decode(query);
    if (p.questions?.length === 1) {
      return dnsPacket.encode({ type: "response", id: p.id, flags: (flagsIn & RD) | RA | RCODE[rcode], questions: p.questions });
    }
  } catch {
    /* fall through to a bare header */
  }
  const out = Buffer.alloc(12);
  out.writeUInt16BE(query.readUInt16BE(0), 0);
  out.writeUInt16BE(QR | (flagsIn & (RD | 0x7800)) | RA | RCODE[rcode], 2);
  return out;
}
