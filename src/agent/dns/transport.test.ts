// Real UDP and TCP on 127.0.0.1: the cluster records answered over both, forwarding to a fake
// upstream on loopback, truncation and TCP fallback, a dead upstream.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as dnsPacket from "dns-packet";
import type { EndpointSlice } from "../../api/resources/discovery/endpointslice";
import type { Service } from "../../api/resources/core/service";
import { createLogger } from "../../machinery/log";
import { AnswerCache, answerQuery, type QueryContext } from "./answer";
import { ForwardCache } from "./forward-cache";
import { listenDns, type Listening } from "./listen";
import { ClusterRecords } from "./records";
import { askOverTcp, askUdp, buildQuery, deadPort, startFakeUpstream, udpExchange, type FakeUpstream } from "./testing";
import { Forwarder, parseUpstream } from "./upstream";

const log = createLogger("dns-test", { level: "error" });
const HOST = "127.0.0.1";

function records(): ClusterRecords {
  const r = new ClusterRecords("cluster.local");
  r.upsertService({ metadata: { namespace: "default", name: "web" }, spec: { clusterIP: "10.43.0.20", ports: [{ name: "http", port: 80, protocol: "TCP" }] } } as Service);
  for (const [name, n] of [["many", 100], ["fifty", 50]] as const) {
    r.upsertService({ metadata: { namespace: "default", name }, spec: { clusterIP: "None", ports: [{ name: "http", port: 80, protocol: "TCP" }] } } as Service);
    r.upsertSlice({
      metadata: { namespace: "default", name: `${name}-a`, labels: { "kubernetes.io/service-name": name } },
      addressType: "IPv4",
      endpoints: Array.from({ length: n }, (_, i) => ({ addresses: [`10.42.0.${i + 1}`], conditions: { ready: true } })),
      ports: [{ name: "http", port: 80, protocol: "TCP" }],
    } as EndpointSlice);
  }
  r.upsertService({ metadata: { namespace: "default", name: "ext" }, spec: { type: "ExternalName", externalName: "example.test" } } as Service);
  return r;
}

async function serve(upstreams: string[], timeoutMs = 300, cache = true, forwardCache?: ForwardCache): Promise<{ l: Listening; f: Forwarder; ctx: QueryContext }> {
  const f = new Forwarder({ upstreams: upstreams.map(parseUpstream), timeoutMs, log });
  await f.start();
  const ctx: QueryContext = { records: records(), forwarder: f, resolver: { ttl: 5, pods: "insecure" }, cache: cache ? new AnswerCache() : undefined, forwardCache };
  const l = await listenDns(HOST, 0, (q, udp) => answerQuery(ctx, q, udp));
  return { l, f, ctx };
}

let up: FakeUpstream;
let dns: { l: Listening; f: Forwarder; ctx: QueryContext };

beforeAll(async () => {
  up = await startFakeUpstream();
  dns = await serve([`${HOST}:${up.port}`]);
});
afterAll(() => {
  dns.l.close();
  dns.f.close();
  up.close();
});

describe("cluster names over UDP and TCP", () => {
  test("UDP: a service's A record, authoritative, with the query's ID", async () => {
    const q = buildQuery("web.default.svc.cluster.local", "A", { id: 4242 });
    const raw = await udpExchange(HOST, dns.l.port, q);
    const r = dnsPacket.decode(raw!);
    expect(r.id).toBe(4242);
    expect(r.flag_qr).toBe(true);
    expect(r.flag_aa).toBe(true);
    expect(r.flag_rd).toBe(true);
    expect(r.flag_ra).toBe(true);
    expect(r.answers!.map((a) => "data" in a && a.data)).toEqual(["10.43.0.20"]);
    expect(r.questions).toEqual([{ name: "web.default.svc.cluster.local", type: "A", class: "IN" }]);
  });

  test("TCP: the same answer on the same port", async () => {
    const r = await askOverTcp(HOST, dns.l.port, "web.default.svc.cluster.local");
    expect(r.answers!.map((a) => "data" in a && a.data)).toEqual(["10.43.0.20"]);
  });

  test("TCP: several queries on one connection, each answered", async () => {
    const { promise, resolve } = Promise.withResolvers<Buffer>();
    let got = Buffer.alloc(0);
    const frames = ["web.default.svc.cluster.local", "nope.default.svc.cluster.local"].map((n, i) => {
      const q = buildQuery(n, "A", { id: 100 + i });
      const f = Buffer.alloc(q.length + 2);
      f.writeUInt16BE(q.length, 0);
      q.copy(f, 2);
      return f;
    });
    const sock = await Bun.connect({
      hostname: HOST,
      port: dns.l.port,
      socket: {
        data(_s, chunk) {
          got = Buffer.concat([got, chunk]);
          let off = 0;
          let n = 0;
          while (off + 2 <= got.length && off + 2 + got.readUInt16BE(off) <= got.length) (off += 2 + got.readUInt16BE(off)), n++;
          if (n === 2) resolve(got);
        },
      },
    });
    sock.write(Buffer.concat(frames)); // both in one segment
    const all = await promise;
    sock.end();
    const first = dnsPacket.decode(all.subarray(2, 2 + all.readUInt16BE(0)));
    const rest = all.subarray(2 + all.readUInt16BE(0));
    const second = dnsPacket.decode(rest.subarray(2));
    const byId = new Map([first, second].map((p) => [p.id, p]));
    expect((byId.get(100) as { rcode?: string }).rcode).toBe("NOERROR");
    expect((byId.get(101) as { rcode?: string }).rcode).toBe("NXDOMAIN");
  });

  test("NXDOMAIN carries the zone's SOA in authority", async () => {
    const r = await askUdp(HOST, dns.l.port, "web.default.svc.cluster.local.default.svc.cluster.local");
    expect(r.rcode).toBe("NXDOMAIN");
    expect(r.flag_aa).toBe(true);
    expect(r.authorities!.map((a) => [a.type, a.name])).toEqual([["SOA", "cluster.local"]]);
  });

  test("SRV with the A record in additional", async () => {
    const r = await askUdp(HOST, dns.l.port, "_http._tcp.web.default.svc.cluster.local", "SRV");
    expect(r.answers!.map((a) => "data" in a && a.data)).toEqual([{ priority: 0, weight: 100, port: 80, target: "web.default.svc.cluster.local" }]);
    expect(r.additionals!.map((a) => "data" in a && a.data)).toEqual(["10.43.0.20"]);
  });

  test("names are compressed: 50 A records fit a 1232-byte EDNS datagram whole", async () => {
    const raw = await udpExchange(HOST, dns.l.port, buildQuery("fifty.default.svc.cluster.local", "A", { edns: 4096 }));
    const r = dnsPacket.decode(raw!);
    expect(r.flag_tc).toBe(false);
    expect(r.answers).toHaveLength(50);
    expect(raw!.length).toBeLessThanOrEqual(1232);
  });

  test("too big for the datagram: the records that fit, TC set (partial, as CoreDNS); whole over TCP", async () => {
    const plain = await udpExchange(HOST, dns.l.port, buildQuery("many.default.svc.cluster.local"));
    const p = dnsPacket.decode(plain!);
    expect(p.flag_tc).toBe(true);
    expect(plain!.length).toBeLessThanOrEqual(512);
    expect(p.answers!.length).toBeGreaterThan(10); // uncompressed, not even 10 would fit
    expect(p.answers!.length).toBeLessThan(100);
    const edns = await udpExchange(HOST, dns.l.port, buildQuery("many.default.svc.cluster.local", "A", { edns: 4096 }));
    const e = dnsPacket.decode(edns!);
    expect(e.flag_tc).toBe(true);
    expect(edns!.length).toBeLessThanOrEqual(1232);
    expect(e.answers!.length).toBeGreaterThan(p.answers!.length);
    expect(e.additionals!.some((a) => a.type === "OPT")).toBe(true);
    const tcp = await askOverTcp(HOST, dns.l.port, "many.default.svc.cluster.local");
    expect(tcp.flag_tc).toBe(false);
    expect(tcp.answers).toHaveLength(100);
  });

  test("garbage gets FORMERR or nothing, and the server keeps answering", async () => {
    const junk = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff]);
    const raw = await udpExchange(HOST, dns.l.port, junk, 1000);
    expect(raw).toBeDefined();
    expect(raw!.readUInt16BE(0)).toBe(0x1234);
    expect(raw!.readUInt16BE(2) & 0xf).toBe(1); // FORMERR
    expect(await udpExchange(HOST, dns.l.port, Buffer.from([1, 2, 3]), 300)).toBeUndefined();
    expect((await askUdp(HOST, dns.l.port, "web.default.svc.cluster.local")).rcode).toBe("NOERROR");
  });

  test("200 concurrent queries are all answered", async () => {
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => askUdp(HOST, dns.l.port, i % 2 ? "web.default.svc.cluster.local" : `x${i}.default.svc.cluster.local`)));
    expect(replies.filter((r) => r.rcode === "NOERROR")).toHaveLength(100);
    expect(replies.filter((r) => r.rcode === "NXDOMAIN")).toHaveLength(100);
  });
});

describe("forwarding", () => {
  test("names outside the zone go to the upstream; its answer comes back with our client's ID", async () => {
    const q = buildQuery("example.test", "A", { id: 777 });
    const r = dnsPacket.decode((await udpExchange(HOST, dns.l.port, q))!) as dnsPacket.DecodedPacket & { rcode: string };
    expect(r.id).toBe(777);
    expect(r.rcode).toBe("NOERROR");
    expect(r.answers!.map((a) => "data" in a && a.data)).toEqual(["192.0.2.1"]);
    expect(up.asked).toContain("example.test");
  });

  test("an upstream answer to another question is not taken, even with the right ID and source", async () => {
    // A liar upstream: answers with the query's ID but a different question, then (too late) nothing.
    const liar = await listenDns(HOST, 0, (query) => {
      const q = dnsPacket.decode(query);
      return dnsPacket.encode({ type: "response", id: q.id, flags: 0x0080, questions: [{ name: "other.test", type: "A", class: "IN" }], answers: [{ type: "A", name: "other.test", ttl: 60, data: "192.0.2.66" }] });
    });
    const viaLiar = await serve([`${HOST}:${liar.port}`], 300);
    try {
      expect((await askUdp(HOST, viaLiar.l.port, "example.test", "A", { timeoutMs: 5000 })).rcode).toBe("SERVFAIL");
    } finally {
      viaLiar.l.close();
      viaLiar.f.close();
      liar.close();
    }
  });

  test("the upstream's NXDOMAIN is passed through", async () => {
    expect((await askUdp(HOST, dns.l.port, "missing.test")).rcode).toBe("NXDOMAIN");
  });

  test("a truncated upstream answer: a UDP client sees TC (and retries over TCP), a TCP client gets it whole via TCP", async () => {
    const viaUdp = await askUdp(HOST, dns.l.port, "big.test");
    expect(viaUdp.flag_tc).toBe(true);
    const viaTcp = await askOverTcp(HOST, dns.l.port, "big.test");
    expect(viaTcp.flag_tc).toBe(false);
    expect(viaTcp.answers).toHaveLength(60);
  });

  test("ExternalName: the CNAME, then the upstream's answer for its target", async () => {
    const r = await askUdp(HOST, dns.l.port, "ext.default.svc.cluster.local");
    expect(r.answers!.map((a) => [a.type, "data" in a && a.data])).toEqual([
      ["CNAME", "example.test"],
      ["A", "192.0.2.1"],
    ]);
  });

  test("a dead upstream: SERVFAIL once the forwarding timeout has passed, well before the client gives up", async () => {
    const dead = await serve([`${HOST}:${await deadPort()}`], 300);
    try {
      const r = await askUdp(HOST, dead.l.port, "example.test", "A", { timeoutMs: 5000 });
      expect(r.rcode).toBe("SERVFAIL");
      expect(r.questions![0]!.name).toBe("example.test");
      // Cluster names do not depend on the upstream.
      expect((await askUdp(HOST, dead.l.port, "web.default.svc.cluster.local")).rcode).toBe("NOERROR");
    } finally {
      dead.l.close();
      dead.f.close();
    }
  });

  test("a dead first upstream is skipped for the next one", async () => {
    const two = await serve([`${HOST}:${await deadPort()}`, `${HOST}:${up.port}`], 300);
    try {
      expect((await askUdp(HOST, two.l.port, "example.test")).answers!.map((a) => "data" in a && a.data)).toEqual(["192.0.2.1"]);
      // The one that answered is asked first from now on (the answer does not wait out the dead one).
      expect((await askUdp(HOST, two.l.port, "example.test", "A", { timeoutMs: 250 })).rcode).toBe("NOERROR");
    } finally {
      two.l.close();
      two.f.close();
    }
  });

  test("with the forward cache, a repeated name is answered without asking the upstream again", async () => {
    const cached = await serve([`${HOST}:${up.port}`], 300, true, new ForwardCache());
    try {
      const name = `repeat-${Date.now()}.test`;
      const ids: number[] = [];
      for (let i = 0; i < 3; i++) {
        const raw = await udpExchange(HOST, cached.l.port, buildQuery(name, "A", { id: 500 + i }));
        const r = dnsPacket.decode(raw!);
        ids.push(r.id!);
        expect(r.answers!.map((a) => "data" in a && a.data)).toEqual(["192.0.2.1"]);
      }
      expect(ids).toEqual([500, 501, 502]);
      expect(up.asked.filter((n) => n === name)).toHaveLength(1);
    } finally {
      cached.l.close();
      cached.f.close();
    }
  });

  test("no upstreams at all: SERVFAIL", async () => {
    const none = await serve([]);
    try {
      expect((await askUdp(HOST, none.l.port, "example.test")).rcode).toBe("SERVFAIL");
    } finally {
      none.l.close();
      none.f.close();
    }
  });
});

describe("answer cache", () => {
  const reply = async (port: number, q: Buffer) => (await udpExchange(HOST, port, q))!;

  test("a cached answer carries each query's own ID and RD bit", async () => {
    const a = dnsPacket.decode(await reply(dns.l.port, buildQuery("web.default.svc.cluster.local", "A", { id: 1 })));
    const plain = dnsPacket.encode({ type: "query", id: 2, flags: 0, questions: [{ name: "web.default.svc.cluster.local", type: "A", class: "IN" }] });
    const b = dnsPacket.decode(await reply(dns.l.port, plain));
    expect([a.id, a.flag_rd, b.id, b.flag_rd]).toEqual([1, true, 2, false]);
    expect(b.answers).toEqual(a.answers);
  });

  test("a change to the records is answered at once, not from the cache", async () => {
    const cached = await serve([`${HOST}:${up.port}`]);
    try {
      expect((await askUdp(HOST, cached.l.port, "web.default.svc.cluster.local")).answers!.map((a) => "data" in a && a.data)).toEqual(["10.43.0.20"]);
      expect(cached.ctx.cache!.size).toBe(1);
      cached.ctx.records.upsertService({ metadata: { namespace: "default", name: "web" }, spec: { clusterIP: "10.43.0.99", ports: [] } } as unknown as Service);
      expect((await askUdp(HOST, cached.l.port, "web.default.svc.cluster.local")).answers!.map((a) => "data" in a && a.data)).toEqual(["10.43.0.99"]);
    } finally {
      cached.l.close();
      cached.f.close();
    }
  });

  test("cached and uncached servers give the same bytes (ID aside), first and second time", async () => {
    const uncached = await serve([`${HOST}:${up.port}`], 300, false);
    try {
      const questions: [string, "A" | "AAAA" | "SRV", number | undefined][] = [
        ["web.default.svc.cluster.local", "A", undefined],
        ["WEB.default.svc.cluster.local", "A", 1232],
        ["many.default.svc.cluster.local", "A", undefined],
        ["many.default.svc.cluster.local", "A", 4096],
        ["fifty.default.svc.cluster.local", "A", 1232],
        ["web.default.svc.cluster.local", "AAAA", undefined],
        ["_http._tcp.web.default.svc.cluster.local", "SRV", undefined],
        ["nope.default.svc.cluster.local", "A", 1232],
      ];
      for (const [name, type, edns] of questions) {
        for (let round = 0; round < 2; round++) {
          const q = buildQuery(name, type, { id: 9, edns });
          const [x, y] = await Promise.all([reply(dns.l.port, q), reply(uncached.l.port, q)]);
          expect([name, type, edns, round, x.toString("hex")]).toEqual([name, type, edns, round, y.toString("hex")]);
        }
      }
    } finally {
      uncached.l.close();
      uncached.f.close();
    }
  });
});
