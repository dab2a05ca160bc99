import { describe, expect, test } from "bun:test";
import * as dnsPacket from "dns-packet";
import type { Answer } from "dns-packet";
import { encodeResponse } from "./encode";
import { ForwardCache, readTtls } from "./forward-cache";

const question = { name: "registry.example.org", type: "A" as const, class: "IN" as const };
const soa: Answer = { type: "SOA", name: "example.org", ttl: 3600, data: { mname: "ns.example.org", rname: "h.example.org", serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 20 } };
/** A compressed upstream-style answer (our encoder compresses; dns-packet does not). */
const answer = (answers: Answer[], opts: { rcode?: number; tc?: boolean; authorities?: Answer[]; edns?: boolean } = {}) => {
  const b = encodeResponse({ id: 1, flags: 0x0180 | (opts.rcode ?? 0), question, answers, authorities: opts.authorities ?? [], additionals: [], ednsUdpSize: opts.edns ? 1232 : undefined }, 65535)!;
  if (opts.tc) b[2] = b[2]! | 0x02;
  return b;
};
const a = (ttl: number, ip = "192.0.2.7"): Answer => ({ type: "A", name: question.name, ttl, data: ip });
const ttlsOf = (b: Buffer) => (dnsPacket.decode(b).answers ?? []).map((x) => (x as { ttl?: number }).ttl);

describe("readTtls", () => {
  test("finds every record's TTL through compressed names, skipping OPT", () => {
    const b = answer([a(60), a(30, "192.0.2.8")], { edns: true });
    const t = readTtls(b)!;
    expect(t.min).toBe(30);
    expect(t.offsets.map((o) => b.readUInt32BE(o))).toEqual([60, 30]);
  });

  test("negative answers go by the SOA (its TTL capped by its minimum)", () => {
    expect(readTtls(answer([], { rcode: 3, authorities: [soa] }))!.min).toBe(20);
  });

  test("a broken message is undefined", () => {
    const b = answer([a(60)]);
    expect(readTtls(b.subarray(0, b.length - 3))).toBeUndefined();
  });
});

describe("ForwardCache", () => {
  let now = 0;
  const cache = () => new ForwardCache({ now: () => now, maxTtl: 30, maxEntries: 3 });

  test("a hit carries the new ID and RD bit, and TTLs lowered by the seconds spent in the cache", () => {
    now = 0;
    const c = cache();
    c.set("k", answer([a(60), a(10, "192.0.2.8")]));
    now = 4_500;
    const hit = c.get("k", 999, false)!;
    const d = dnsPacket.decode(hit);
    expect(d.id).toBe(999);
    expect(d.flag_rd).toBe(false);
    expect(ttlsOf(hit)).toEqual([56, 6]);
  });

  test("kept for the smallest TTL, at most maxTtl", () => {
    now = 0;
    const c = cache();
    c.set("short", answer([a(60), a(10)]));
    c.set("long", answer([a(3600)]));
    now = 9_999;
    expect(c.get("short", 1, true)).toBeDefined();
    now = 10_000;
    expect(c.get("short", 1, true)).toBeUndefined();
    now = 29_999;
    expect(c.get("long", 1, true)).toBeDefined();
    now = 30_000;
    expect(c.get("long", 1, true)).toBeUndefined();
  });

  test("not kept: TTL 0, truncated, SERVFAIL/REFUSED, no records at all", () => {
    now = 0;
    const c = cache();
    c.set("zero", answer([a(0)]));
    c.set("tc", answer([a(60)], { tc: true }));
    c.set("servfail", answer([a(60)], { rcode: 2 }));
    c.set("refused", answer([], { rcode: 5, authorities: [soa] }));
    c.set("empty", answer([]));
    expect(c.size).toBe(0);
    c.set("nx", answer([], { rcode: 3, authorities: [soa] }));
    expect((dnsPacket.decode(c.get("nx", 5, true)!) as { rcode?: string }).rcode).toBe("NXDOMAIN");
  });

  test("bounded: the oldest entry goes first", () => {
    now = 0;
    const c = cache();
    for (const k of ["a", "b", "c", "d"]) c.set(k, answer([a(60)]));
    expect(c.size).toBe(3);
    expect(c.get("a", 1, true)).toBeUndefined();
    expect(c.get("d", 1, true)).toBeDefined();
  });
});
