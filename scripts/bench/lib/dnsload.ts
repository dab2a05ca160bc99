// A DNS load generator: keeps `concurrency` UDP queries in flight against one server for a
// fixed time, cycling through names, and prints one JSON line with the rate and latencies.
// Run by scripts/bench/dns.ts inside a container's network namespace (nsenter), so the queries
// take the path a pod's do. Bounded in time and count; stops by itself.
//   bun scripts/bench/lib/dnsload.ts --server 172.17.0.1:5353 --names a,b,c [--type A] [--concurrency 32] [--seconds 5]
import * as dnsPacket from "dns-packet";
import type { RecordType } from "dns-packet";
import { parseArgs } from "node:util";

const { values: a } = parseArgs({
  options: {
    server: { type: "string" },
    names: { type: "string" },
    type: { type: "string", default: "A" },
    concurrency: { type: "string", default: "32" },
    seconds: { type: "string", default: "5" },
    "max-queries": { type: "string", default: "2000000" },
  },
});
const [host, portText] = a.server!.split(":") as [string, string];
const port = Number(portText);
const names = a.names!.split(",");
const CONC = Number(a.concurrency);
const DEADLINE = performance.now() + Number(a.seconds) * 1000;
const MAX = Number(a["max-queries"]);
const TIMEOUT_MS = 1000;

// One encoded query per name; only the ID changes per send (send copies the bytes).
const queries = names.map((name) => dnsPacket.encode({ type: "query", id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: a.type as RecordType, class: "IN" }] }));
const started = new Float64Array(65536).fill(-1);
const latencies = new Float64Array(MAX);
let answered = 0;
let sent = 0;
let timeouts = 0;
let errors = 0;
let inFlight = 0;
let nextId = 1;
const rcodes: Record<string, number> = {};
const { promise: finished, resolve: finish } = Promise.withResolvers<void>();

const sock = await Bun.udpSocket({
  socket: {
    data(_s, buf) {
      const id = buf.readUInt16BE(0);
      const t0 = started[id]!;
      if (t0 < 0) return; // late answer to a query already counted as timed out
      started[id] = -1;
      inFlight--;
      if (answered < MAX) latencies[answered] = performance.now() - t0;
      answered++;
      const rcode = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN"][buf.readUInt16BE(2) & 0xf] ?? "OTHER";
      rcodes[rcode] = (rcodes[rcode] ?? 0) + 1;
      pump();
    },
    // ICMP errors (nothing listening) arrive here; the queries concerned count as lost.
    error() {
      errors++;
    },
  },
});

function pump() {
  const now = performance.now();
  if (now >= DEADLINE || sent >= MAX) {
    if (inFlight === 0) finish();
    return;
  }
  while (inFlight < CONC && sent < MAX) {
    let id = nextId;
    // Skip IDs still in flight (a slow answer must not be matched to a newer query).
    for (let i = 0; i < 65536 && started[id]! >= 0; i++) id = (id + 1) & 0xffff;
    nextId = (id + 1) & 0xffff;
    const q = queries[sent % queries.length]!;
    q.writeUInt16BE(id, 0);
    started[id] = performance.now();
    inFlight++;
    sent++;
    sock.send(q, port, host);
  }
}

// Lost queries: count them after TIMEOUT_MS and refill the window.
const sweeper = setInterval(() => {
  const now = performance.now();
  for (let id = 0; id < 65536; id++) {
    const t0 = started[id]!;
    if (t0 >= 0 && now - t0 > TIMEOUT_MS) {
      started[id] = -1;
      inFlight--;
      timeouts++;
    }
  }
  pump();
  if (now >= DEADLINE + TIMEOUT_MS * 2) finish();
}, 100);

const t0 = performance.now();
pump();
await finished;
const elapsed = (performance.now() - t0) / 1000;
clearInterval(sweeper);
sock.close();
const lat = Array.from(latencies.subarray(0, Math.min(answered, MAX))).sort((x, y) => x - y);
const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0;
console.log(JSON.stringify({ sent, answered, timeouts, errors, rcodes, seconds: elapsed, qps: answered / elapsed, p50: pct(0.5), p99: pct(0.99), max: lat[lat.length - 1] ?? 0 }));
