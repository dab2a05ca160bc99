// What NetworkPolicy enforcement adds to an agent's memory: a process that starts it (watches of
// NetworkPolicies, all Pods slimmed, Namespaces; rendering; iptables through a recorder, so this
// machine's rules are never touched) against an API server holding N pods spread over 10
// namespaces and nodes, and N/10 policies (or --policies), against a process that only makes the same client
// and one watch (same run). The API server runs in this process (memory store, plain HTTP on loopback).
//   bun scripts/bench/netpol-memory.ts [--pods 300] [--policies N/10] [--runs 2]
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { startHttpTestApi, TEST_TOKEN } from "../../src/server/apiserver/testing.ts";
import { mb } from "./lib/proc.ts";
import { printTable } from "./lib/table.ts";

const { values: args } = parseArgs({ options: { pods: { type: "string", default: "300" }, policies: { type: "string" }, runs: { type: "string", default: "2" } } });
const N = Number(args.pods);
const RUNS = Number(args.runs);
const POLICIES = args.policies === undefined ? Math.max(1, Math.floor(N / 10)) : Number(args.policies);
const child = resolve(import.meta.dir, "lib/netpol-memory-child.ts");

const api = await startHttpTestApi();
try {
  for (let n = 0; n < 10; n++) {
    const r = await api.t.call("POST", "/api/v1/namespaces", { metadata: { name: `team-${n}`, labels: { team: `t${n % 3}` } } });
    if (r.status !== 201) throw new Error(`namespace: ${r.status}`);
  }
  for (let i = 0; i < N; i++) {
    const ns = `team-${i % 10}`;
    const r = await api.t.call("POST", `/api/v1/namespaces/${ns}/pods`, {
      metadata: { name: `pod-${i}`, labels: { app: `app-${i % 7}`, tier: Math.floor(i / 10) % 2 ? "web" : "db" } },
      spec: { nodeName: `node-${i % 10}`, containers: [{ name: "main", image: "busybox", ports: [{ name: "http", containerPort: 8080 }] }] },
    });
    if (r.status !== 201) throw new Error(`pod: ${r.status} ${JSON.stringify(r.body)}`);
    const pod = r.body as { status?: object };
    const s = await api.t.call("PUT", `/api/v1/namespaces/${ns}/pods/pod-${i}/status`, { ...pod, status: { phase: "Running", podIP: `10.42.${i % 10}.${Math.floor(i / 10) + 2}` } });
    if (s.status !== 200) throw new Error(`pod status: ${s.status} ${JSON.stringify(s.body)}`);
  }
  for (let i = 0; i < POLICIES; i++) {
    const r = await api.t.call("POST", `/apis/networking.k8s.io/v1/namespaces/team-${i % 10}/networkpolicies`, {
      metadata: { name: `np-${i}` },
      spec: { podSelector: { matchLabels: { tier: "web" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: `app-${i % 7}` } } }, { namespaceSelector: { matchLabels: { team: "t1" } } }], ports: [{ port: "http" }] }] },
    });
    if (r.status !== 201) throw new Error(`networkpolicy: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const server = api.client.creds.server;
  const run = async (mode: "netpol" | "bare") => {
    const p = Bun.spawn({ cmd: [process.execPath, child, server, TEST_TOKEN, mode], stdout: "pipe", stderr: "inherit" });
    const out = await new Response(p.stdout).text();
    await p.exited;
    return JSON.parse(out.trim().split("\n").pop()!) as { rss: number; heap: number; rules: number };
  };
  const rows: (string | number)[][] = [];
  for (let i = 0; i < RUNS; i++) {
    const bare = await run("bare");
    const np = await run("netpol");
    rows.push([i + 1, np.rules, mb(bare.rss), mb(np.rss), mb(np.rss - bare.rss), mb(bare.heap), mb(np.heap), mb(np.heap - bare.heap)]);
  }
  console.log(`# network policy memory, ${N} pods, ${POLICIES} policies, after sync and a full GC (${new Date().toISOString()})`);
  printTable(["run", "rules", "RSS: client only MB", "client + netpol MB", "netpol adds MB", "JS heap: client only MB", "client + netpol MB", "netpol adds MB"], rows);
} finally {
  await api.stop();
}
