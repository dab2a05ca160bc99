// One DNS message in, one out: decode the query, let the resolver answer from the cluster
// records or hand it to the forwarder, encode the response. Shared by the UDP and TCP
// listeners; no sockets here.
import * as dnsPacket from "dns-packet";
import type { Answer, DecodedPacket, Packet, Question } from "dns-packet";
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
}

/**
 * The response bytes for one query, or undefined when it deserves none (not a query, or too
 * broken to carry an ID). `udp`: whether the answer must fit a UDP datagram.
 */
export async function answerQuery(ctx: QueryContext, query: Buffer, udp: boolean): Promise<Buffer | undefined> {
  if (query.length < 12 || (query.readUInt16BE(2) & QR) !== 0) return undefined;
  let packet: DecodedPacket;
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
  if (res.chase) await chase(ctx, res, q, packet.flags ?? 0);
  const limit = !udp ? 65535 : opt ? Math.max(512, Math.min(opt.udpPayloadSize ?? 512, EDNS_UDP_SIZE)) : 512;
  return encodeAnswer(packet, q, res, Boolean(opt), limit);
}

function encodeAnswer(query: DecodedPacket, q: Question, res: Answered, edns: boolean, limit: number): Buffer {
  const flags = (res.authoritative ? AA : 0) | (query.flags! & RD) | RA | RCODE[res.rcode];
  const additionals: Answer[] = [...res.additionals];
  if (edns) additionals.push({ type: "OPT", name: ".", udpPayloadSize: EDNS_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as unknown as Answer);
  const packet: Packet = { type: "response", id: query.id, flags, questions: [q], answers: res.answers, authorities: res.authorities, additionals };
  const out = dnsPacket.encode(packet);
  if (out.length <= limit) return out;
  // Too big for the client's datagram: the question alone, truncated, so it retries over TCP.
  return dnsPacket.encode({ type: "response", id: query.id, flags: flags | TC, questions: [q], additionals: edns ? additionals.slice(-1) : [] });
}

/** ExternalName to a name outside the zone: the CNAME plus whatever the upstreams say about its target. */
async function chase(ctx: QueryContext, res: Answered, q: Question, flags: number) {
  const id = Math.floor(Math.random() * 65536);
  const sub = dnsPacket.encode({ type: "query", id, flags: flags & RD, questions: [{ name: res.chase!, type: q.type, class: "IN" }] });
  const reply = await ctx.forwarder.forward(sub, false);
  if (!reply) return;
  try {
    const decoded = dnsPacket.decode(reply);
    res.answers.push(...(decoded.answers ?? []));
    res.rcode = ((decoded as { rcode?: Rcode }).rcode) ?? res.rcode;
  } catch {
    /* an undecodable upstream answer leaves the CNAME alone */
  }
}

/** A header-only response carrying the query's ID and question count zeroed. */
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
