// Test helpers: a one-shot DNS client over UDP or TCP, and a fake upstream resolver on
// loopback. Used by the DNS tests, and by the DNS benchmark when dnsmasq is not installed.
import * as dnsPacket from "dns-packet";
import type { Answer, DecodedPacket, RecordType } from "dns-packet";
import { listenDns, type Listening } from "./listen";
import { askTcp } from "./upstream";

let nextId = 1;

export function buildQuery(name: string, type: RecordType = "A", opts: { id?: number; edns?: number } = {}): Buffer {
  return dnsPacket.encode({
    type: "query",
    id: opts.id ?? (nextId = (nextId + 1) & 0xffff),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: "IN" }],
    additionals: opts.edns ? [{ type: "OPT", name: ".", udpPayloadSize: opts.edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as unknown as Answer] : [],
  });
}

export type Reply = DecodedPacket & { rcode: string };

/** Sends one datagram and waits for the answer (undefined after timeoutMs). */
export async function udpExchange(host: string, port: number, query: Buffer, timeoutMs = 3000): Promise<Buffer | undefined> {
  const { promise, resolve } = Promise.withResolvers<Buffer | undefined>();
  const sock = await Bun.udpSocket({ socket: { data: (_s, buf) => resolve(Buffer.from(buf)) } });
  const timer = setTimeout(() => resolve(undefined), timeoutMs);
  sock.send(query, port, host);
  const out = await promise;
  clearTimeout(timer);
  sock.close();
  return out;
}

export async function askUdp(host: string, port: number, name: string, type: RecordType = "A", opts: { edns?: number; timeoutMs?: number } = {}): Promise<Reply> {
  const raw = await udpExchange(host, port, buildQuery(name, type, opts), opts.timeoutMs);
  if (!raw) throw new Error(`no UDP answer for ${name} ${type}`);
  return dnsPacket.decode(raw) as Reply;
}

export async function askOverTcp(host: string, port: number, name: string, type: RecordType = "A"): Promise<Reply> {
  const raw = await askTcp(buildQuery(name, type), { host, port }, 3000);
  if (!raw) throw new Error(`no TCP answer for ${name} ${type}`);
  return dnsPacket.decode(raw) as Reply;
}

export interface FakeUpstream extends Listening {
  /** Names the upstream was asked, in order. */
  asked: string[];
}

/**
 * Answers every A question with 192.0.2.1 (TEST-NET, never contacted), "big.test" with 60 A
 * records (truncated over UDP without EDNS, as a real server does), "missing.test" NXDOMAIN.
 */
export async function startFakeUpstream(address = "127.0.0.1", port = 0): Promise<FakeUpstream> {
  const asked: string[] = [];
  const remember = (name: string) => asked.length < 10_000 && asked.push(name);
  const l = await listenDns(address, port, async (query, udp) => {
    const q = dnsPacket.decode(query);
    const question = q.questions![0]!;
    remember(question.name);
    const base = { type: "response" as const, id: q.id, questions: q.questions, flags: dnsPacket.RECURSION_AVAILABLE };
    if (question.name === "missing.test") return dnsPacket.encode({ ...base, flags: base.flags | 3 });
    const count = question.name === "big.test" ? 60 : 1;
    const answers: Answer[] = question.type === "A" ? Array.from({ length: count }, (_, i) => ({ type: "A", name: question.name, ttl: 60, data: `192.0.2.${i + 1}` })) : [];
    const out = dnsPacket.encode({ ...base, answers });
    if (udp && out.length > 512) return dnsPacket.encode({ ...base, flags: base.flags | dnsPacket.TRUNCATED_RESPONSE });
    return out;
  });
  return { ...l, asked };
}

/** A loopback port with nothing listening on UDP: queries sent there are never answered. */
export async function deadPort(): Promise<number> {
  const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  const port = s.port;
  s.close();
  return port;
}
