// What the cluster DNS adds to an agent's memory: a process that starts it against an API
// server holding N Services with 5 ready endpoints each (informers with the DNS transforms, the
// records, the sockets), against a process that only makes the same client (same run). The API
// server runs in this process (memory store, plain HTTP on loopback).
//   bun scripts/bench/dns-memory.ts [--services 1000] [--runs 3]
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { startHttpTestApi, TEST_TOKEN } from "../../src/server/apiserver/testing.ts";
import { mb } from "./lib/proc.ts";
import { printTable } from "./lib/table.ts";

const { values: args } = parseArgs({ options: { services: { type: "string", default: "1000" }, runs: { type: "string", default: "3" } } });
const N = Number(args.services);
const RUNS = Number(args.runs);
const child = resolve(import.meta.dir, "lib/dns-memory-child.ts");

const api = await startHttpTestApi();
try {
  for (let i = 0; i < N; i++) {
    const name = `svc-${i}`;
    const svc = await api.t.call("POST", "/api/v1/namespaces/default/services", { metadata: { name, labels: { app: name } }, spec: { selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: 8080 }] } });
    if (svc.status !== 201) throw new Error(`service ${name}: ${svc.status}`);
    const endpoints = Array.from({ length: 5 }, (_, j) => ({
      addresses: [`10.42.${j}.${(i % 250) + 1}`],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: `node-${j}`,
      targetRef: { kind: "Pod", namespace: "default", name: `${name}-${j}` },
    }));
    const slice = await api.t.call("POST", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", {
      metadata: { name: `${name}-abcde`, labels: { app: name, "kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" } },
      addressType: "IPv4",
      endpoints,
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    });
    if (slice.status !== 201) throw new Error(`endpointslice ${name}: ${slice.status}`);
  }
  const server = api.client.creds.server;
  const probe = `svc-${N - 1}.default.svc.cluster.local`;
  // Not spawnSync: the API server lives in this process's event loop and must keep answering.
  const run = async (mode: "dns" | "bare") => {
    const p = Bun.spawn({ cmd: [process.execPath, child, server, TEST_TOKEN, mode, probe], stdout: "pipe", stderr: "inherit" });
    const out = await new Response(p.stdout).text();
    await p.exited;
    return JSON.parse(out.trim().split("\n").pop()!) as { rss: number; heap: number; answered: string };
  };
  const rows: (string | number)[][] = [];
  for (let i = 0; i < RUNS; i++) {
    const bare = await run("bare");
    const dns = await run("dns");
    if (!dns.answered) throw new Error("the DNS never answered the probe name");
    rows.push([i + 1, mb(bare.rss), mb(dns.rss), mb(dns.rss - bare.rss), mb(bare.heap), mb(dns.heap), mb(dns.heap - bare.heap)]);
  }
  console.log(`# cluster DNS memory, ${N} Services × 5 endpoints, after sync and a full GC (${new Date().toISOString()})`);
  printTable(["run", "RSS: client only MB", "client + DNS MB", "DNS adds MB", "JS heap: client only MB", "client + DNS MB", "DNS adds MB"], rows);
} finally {
  await api.stop();
}
