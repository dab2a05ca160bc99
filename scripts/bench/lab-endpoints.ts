// Service programming end to end in the multi-node lab: a pod of a Service is deleted
// with kubectl, and the clock runs until (1) the API's Endpoints no longer list it, (2) the
// kernel rules on another node (lab-n0) no longer DNAT to it, (3) those on its own node (lab-n2)
// no longer do — real server, real agents in their own namespaces, real iptables. Polled: the
// API every 10 ms over HTTPS, the rules with `nsenter --net iptables-save -t nat` back to back.
// Same-run baselines: one poll of each (the resolution of the measurement), and a bare
// `iptables-restore --noflush` of a one-rule chain in lab-n0 (the floor of putting a rule in).
//   bun scripts/bench/lab-endpoints.ts [--deletions 20]       (root; brings up and removes the lab)
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { TEST_IMAGE } from "../../src/agent/images/testimage.ts";
import { upLab, type Lab } from "../lab/lab.ts";
import { percentile, printTable } from "./lib/table.ts";

const { values: args } = parseArgs({ options: { deletions: { type: "string", default: "20" } } });
const N = Number(args.deletions);

const ms = (v: number) => v.toFixed(0);
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return [ms(percentile(s, 0.5)), ms(percentile(s, 0.99)), ms(s.at(-1) ?? 0)];
};

async function main(lab: Lab) {
  const dataDir = lab.server.paths.brambleData;
  const token = readFileSync(join(dataDir, "server", "admin-token"), "utf8").trim();
  const ca = readFileSync(join(dataDir, "server", "tls", "server-ca.crt"), "utf8");
  const api = async (path: string) => {
    const res = await fetch(`${lab.serverUrl}${path}`, { headers: { authorization: `Bearer ${token}` }, tls: { ca } });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res.json() as Promise<any>;
  };
  const endpointIPs = async () => ((await api("/api/v1/namespaces/default/endpoints/web")).subsets ?? []).flatMap((s: any) => (s.addresses ?? []).map((a: any) => a.ip as string));
  const dnats = async (node: string) => {
    const r = await lab.inNode(node, ["iptables-save", "-t", "nat"]);
    return r.stdout.split("\n").filter((l) => l.includes("default/web:http") && l.includes("-j DNAT"));
  };
  const until = async (cond: () => Promise<boolean>, pause = 0) => {
    const deadline = performance.now() + 60_000;
    while (!(await cond())) {
      if (performance.now() > deadline) throw new Error("timed out");
      if (pause) await Bun.sleep(pause);
    }
    return performance.now();
  };

  const manifest = [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "default" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            nodeSelector: { "kubernetes.io/hostname": "lab-n2" },
            terminationGracePeriodSeconds: 1,
            containers: [{ name: "httpd", image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"], ports: [{ name: "http", containerPort: 8080 }], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }],
          },
        },
      },
    },
    { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] } },
  ];
  const applied = await lab.kubectlWith({ stdin: manifest.map((m) => JSON.stringify(m)).join("\n") }, "apply", "-f", "-");
  if (applied.code !== 0) throw new Error(applied.stderr);

  const apiT: number[] = [];
  const remoteT: number[] = [];
  const localT: number[] = [];
  for (let i = 0; i < N; i++) {
    // Two ready endpoints, in every node's rules, before each deletion.
    await until(async () => (await endpointIPs()).length === 2 && (await dnats("lab-n0")).length === 2 && (await dnats("lab-n2")).length === 2, 50);
    const pods = (await api("/api/v1/namespaces/default/pods?labelSelector=app%3Dweb")).items.filter((p: any) => !p.metadata.deletionTimestamp);
    const victim = pods[i % pods.length];
    const ip = victim.status.podIP as string;
    const t0 = performance.now();
    const del = await fetch(`${lab.serverUrl}/api/v1/namespaces/default/pods/${victim.metadata.name}`, { method: "DELETE", headers: { authorization: `Bearer ${token}` }, tls: { ca } });
    if (!del.ok) throw new Error(`delete: HTTP ${del.status}`);
    const gone = (lines: string[]) => !lines.some((l) => l.includes(`--to-destination ${ip}:`));
    const [a, r, l] = await Promise.all([
      until(async () => !(await endpointIPs()).includes(ip), 10),
      until(async () => gone(await dnats("lab-n0"))),
      until(async () => gone(await dnats("lab-n2"))),
    ]);
    apiT.push(a - t0);
    remoteT.push(r - t0);
    localT.push(l - t0);
  }

  // Baselines, same run: one poll of each, and a bare restore of one rule.
  const pollApi: number[] = [];
  const pollRules: number[] = [];
  const restore: number[] = [];
  const rule = "*nat\n:BENCH-LAB - [0:0]\n-A BENCH-LAB -d 10.43.255.254/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.42.0.254:8080\nCOMMIT\n";
  for (let i = 0; i < N; i++) {
    let t = performance.now();
    await endpointIPs();
    pollApi.push(performance.now() - t);
    t = performance.now();
    await dnats("lab-n0");
    pollRules.push(performance.now() - t);
    t = performance.now();
    const r = await lab.inNode("lab-n0", ["iptables-restore", "--noflush"], { stdin: rule });
    if (r.code !== 0) throw new Error(r.stderr);
    restore.push(performance.now() - t);
  }
  await lab.inNode("lab-n0", ["sh", "-c", "iptables -t nat -F BENCH-LAB && iptables -t nat -X BENCH-LAB"]);

  console.log(`\nService programming end to end in the lab: ${N} pod deletions (Deployment of 2 on lab-n2, Service web)\n`);
  printTable(["from `DELETE pod` until", "p50 ms", "p99 ms", "max ms"], [
    ["Endpoints without the pod (API)", ...stats(apiT)],
    ["rules without it on lab-n0 (other node)", ...stats(remoteT)],
    ["rules without it on lab-n2 (its node)", ...stats(localT)],
    ["baseline: one GET of the Endpoints", ...stats(pollApi)],
    ["baseline: one nsenter iptables-save -t nat", ...stats(pollRules)],
    ["baseline: bare iptables-restore --noflush, 1 rule", ...stats(restore)],
  ]);
}

const lab = await upLab({ progress: console.log });
try {
  await main(lab);
} finally {
  await lab.down();
}
