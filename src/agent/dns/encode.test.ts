// The compressing encoder against dns-packet's decoder: every record comes back as it went in.
import { describe, expect, test } from "bun:test";
import * as dnsPacket from "dns-packet";
import type { Answer, Question } from "dns-packet";
import { encodeResponse, type Response } from "./encode";

const q: Question = { name: "web.default.svc.cluster.local", type: "A", class: "IN" };
const soa: Answer = {
  type: "SOA",
  name: "cluster.local",
  ttl: 5,
  data: { mname: "ns.dns.cluster.local", rname: "hostmaster.cluster.local", serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: 5 },
};
const base = (over: Partial<Response>): Response => ({ id: 77, flags: 0x0400 | 0x0100 | 0x0080, question: q, answers: [], authorities: [], additionals: [], ...over });
const strip = (as: Answer[] | undefined) => (as ?? []).map((a) => ({ ...a, class: "IN", flush: false }));

describe("encodeResponse", () => {
  test("A, CNAME, PTR, NS, SRV (+ additional) and SOA round-trip through dns-packet", () => {
    const answers: Answer[] = [
      { type: "CNAME", name: q.name, ttl: 5, data: "other.default.svc.cluster.local" },
      { type: "A", name: "other.default.svc.cluster.local", ttl: 5, data: "10.43.0.20" },
      { type: "PTR", name: "20.0.43.10.in-addr.arpa", ttl: 5, data: "web.default.svc.cluster.local" },
      { type: "NS", name: "cluster.local", ttl: 5, data: "ns.dns.cluster.local" },
      { type: "SRV", name: `_http._tcp.${q.name}`, ttl: 5, data: { priority: 0, weight: 100, port: 80, target: q.name } },
    ];
    const additionals: Answer[] = [{ type: "A", name: q.name, ttl: 5, data: "10.43.0.20" }];
    const out = encodeResponse(base({ answers, authorities: [soa], additionals, ednsUdpSize: 1232 }), 65535)!;
    const d = dnsPacket.decode(out);
    expect(d.id).toBe(77);
    expect([d.flag_qr, d.flag_aa, d.flag_rd, d.flag_ra, d.flag_tc]).toEqual([true, true, true, true, false]);
    expect(d.questions).toEqual([q]);
    expect(strip(d.answers)).toEqual(strip(answers));
    expect(strip(d.authorities)).toEqual(strip([soa]));
    expect(d.additionals!.map((a) => a.type)).toEqual(["A", "OPT"]);
    expect((d.additionals![1] as { udpPayloadSize: number }).udpPayloadSize).toBe(1232);
  });

  test("compression: the same records in far fewer bytes than dns-packet's encoding", () => {
    const answers: Answer[] = Array.from({ length: 20 }, (_, i) => ({ type: "A", name: q.name, ttl: 5, data: `10.42.0.${i}` }));
    const ours = encodeResponse(base({ answers }), 65535)!;
    const theirs = dnsPacket.encode({ type: "response", id: 77, flags: 0, questions: [q], answers });
    expect(strip(dnsPacket.decode(ours).answers)).toEqual(strip(answers));
    expect(ours.length).toBeLessThan(theirs.length / 2);
  });

  test("the SRV target is never compressed (RFC 2782), yet decodes", () => {
    const answers: Answer[] = [{ type: "SRV", name: q.name, ttl: 5, data: { priority: 0, weight: 1, port: 1, target: q.name } }];
    const out = encodeResponse(base({ answers }), 65535)!;
    // The target's labels appear in full a second time after the question's.
    expect(out.toString("latin1").split("\x03web\x07default").length - 1).toBe(2);
    expect(strip(dnsPacket.decode(out).answers)).toEqual(strip(answers));
  });

  test("cut at a record boundary with TC when answers do not fit; the OPT stays", () => {
    const answers: Answer[] = Array.from({ length: 100 }, (_, i) => ({ type: "A", name: q.name, ttl: 5, data: `10.42.0.${i}` }));
    const out = encodeResponse(base({ answers, authorities: [soa], ednsUdpSize: 1232 }), 512)!;
    expect(out.length).toBeLessThanOrEqual(512);
    const d = dnsPacket.decode(out);
    expect(d.flag_tc).toBe(true);
    expect(d.answers!.length).toBeGreaterThan(20);
    expect(strip(d.answers)).toEqual(strip(answers.slice(0, d.answers!.length)));
    expect(d.authorities).toEqual([]);
    expect(d.additionals!.map((a) => a.type)).toEqual(["OPT"]);
  });

  test("additional records that do not fit are dropped without TC (RFC 2181 9)", () => {
    const answers: Answer[] = [{ type: "SRV", name: q.name, ttl: 5, data: { priority: 0, weight: 1, port: 1, target: q.name } }];
    const additionals: Answer[] = Array.from({ length: 100 }, (_, i) => ({ type: "A", name: `host-${i}.${q.name}`, ttl: 5, data: `10.42.0.${i}` }));
    const d = dnsPacket.decode(encodeResponse(base({ answers, additionals }), 512)!);
    expect(d.flag_tc).toBe(false);
    expect(d.answers).toHaveLength(1);
    expect(d.additionals!.length).toBeLessThan(100);
  });

  test("a record type it does not encode: undefined (the caller falls back to dns-packet)", () => {
    expect(encodeResponse(base({ answers: [{ type: "TXT", name: q.name, data: "x" }] }), 512)).toBeUndefined();
    expect(encodeResponse(base({ answers: [{ type: "AAAA", name: q.name, data: "fd00::1" }] }), 512)).toBeUndefined();
  });
});
