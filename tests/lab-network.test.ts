// Networking in the multi-node lab, with the networking defaults (host-gw pod network, iptables
// Service proxy, cluster DNS, ServiceLB): pods talk across nodes by pod IP; a Service answers on
// its ClusterIP and DNS names from a pod on another node, on a NodePort at every node's address
// and on a LoadBalancer's ingress addresses from the host (over the lab bridge); Endpoints and
// the kernel's rules follow scale-down and pod deletion; deleting a Service removes its rules.
//
// Layout: `peer` runs one pod per node (httpd answering its own pod name, and the client for
// every check from inside the cluster); `web` runs two pods on lab-n2 only, so each check from
// lab-n0 or lab-n1 crosses nodes. How long the Endpoints and rules take to follow a change is
// measured and printed, not asserted.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { TEST_IMAGE } from "../src/agent/images/testimage";
import type { Lab } from "../scripts/lab/lab";
import { labSkipReason, useLab } from "./helpers/lab";
import { eventually as poll } from "./helpers/eventually";

setDefaultTimeout(120_000);
const lab = useLab();

const eventually = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 60_000) => poll(what, f, { timeoutMs, intervalMs: 100, context: () => lab().logTails(25) });

const json = async (...args: string[]) => {
  const r = await lab().kubectl(...args, "-o", "json");
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};
const apply = async (...objects: object[]) => {
  const r = await lab().kubectlWith({ stdin: objects.map((o) => JSON.stringify(o)).join("\n") }, "apply", "-f", "-");
  if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
};

// httpd answers the pod's own name; PID 1 ignores SIGTERM unless it traps it.
const httpdContainer = {
  name: "httpd",
  image: TEST_IMAGE,
  imagePullPolicy: "Never",
  command: ["sh", "-c", "mkdir -p /tmp/www && echo $POD_NAME > /tmp/www/index.html && trap 'exit 0' TERM; httpd -f -p 8080 -h /tmp/www & wait"],
  env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
  ports: [{ name: "http", containerPort: 8080 }],
  readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
};

const deployment = (name: string, replicas: number, spec: object) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: "default" },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 1, containers: [httpdContainer], ...spec } },
  },
});

const service = (name: string, app: string, spec: object = {}) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "default" },
  spec: { selector: { app }, ports: [{ name: "http", port: 80, targetPort: "http" }], ...spec },
});

interface PodView {
  name: string;
  node: string;
  ip: string;
  ready: boolean;
}
const podsOf = async (app: string): Promise<PodView[]> =>
  (await json("get", "pods", "-l", `app=${app}`)).items
    .filter((p: any) => !p.metadata.deletionTimestamp)
    .map((p: any) => ({
      name: p.metadata.name,
      node: p.spec.nodeName,
      ip: p.status?.podIP,
      ready: p.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True") ?? false,
    }));

const readyPods = (app: string, count: number) =>
  eventually(`${count} ready ${app} pods`, async () => {
    const ps = await podsOf(app);
    return ps.length === count && ps.every((p) => p.ready && p.ip) && ps;
  });

let peers: PodView[] = [];
const peerOn = (node: string) => peers.find((p) => p.node === node)!;

/**
 * busybox wget from inside a pod; the body, or an error carrying wget's complaint. (Bounded by
 * busybox timeout: the static busybox's `wget -T` crashes with SIGSEGV.)
 */
async function wgetFrom(pod: string, url: string): Promise<string> {
  const r = await lab().kubectl("exec", pod, "--", "busybox", "timeout", "5", "busybox", "wget", "-q", "-O", "-", url);
  if (r.code !== 0) throw new Error(`wget ${url} from ${pod} (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** From the host, over the lab bridge. */
async function fetchText(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.text()).trim();
}

/** The nat table of one node, as its kernel has it. */
async function natRules(l: Lab, node: string): Promise<string> {
  const r = await l.inNode(node, ["iptables-save", "-t", "nat"]);
  if (r.code !== 0) throw new Error(`iptables-save on ${node}: ${r.stderr}`);
  return r.stdout;
}

/** Endpoint IPs of a Service port in a node's rules: its DNAT targets. */
async function dnatTargets(node: string, svcPort: string): Promise<string[]> {
  const lines = (await natRules(lab(), node)).split("\n").filter((l) => l.includes(`${svcPort}`) && l.includes("-j DNAT"));
  return lines.map((l) => /--to-destination ([\d.]+):\d+/.exec(l)?.[1] ?? "?").sort();
}

const endpointIPs = async (name: string): Promise<string[]> => {
  const ep = await json("get", "endpoints", name);
  return (ep.subsets ?? []).flatMap((s: any) => (s.addresses ?? []).map((a: any) => a.ip)).sort();
};

const inCidr = (ip: string, cidr: string) => {
  const [base, bits] = cidr.split("/");
  const n = (s: string) => s.split(".").reduce((a, o) => a * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  return Math.floor(n(ip) / size) === Math.floor(n(base!) / size);
};

describe.skipIf(!!labSkipReason)("networking in the lab", () => {
  beforeAll(async () => {
    await apply(
      deployment("peer", 3, {
        affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app: "peer" } } }] } },
      }),
      deployment("web", 2, { nodeSelector: { "kubernetes.io/hostname": "lab-n2" } }),
    );
    peers = await readyPods("peer", 3);
    await readyPods("web", 2);
  }, 180_000);

  test("each node has its podCIDR, a Docker network for its pods on it, and pods get IPs from it", async () => {
    const nodes = (await json("get", "nodes")).items as any[];
    const cidrs = new Map(nodes.map((n) => [n.metadata.name, n.spec.podCIDR as string]));
    expect(new Set(cidrs.values()).size).toBe(3);
    for (const n of lab().nodes) {
      const cidr = cidrs.get(n.name)!;
      expect(cidr).toMatch(/^10\.42\.\d+\.0\/24$/);
      const net = await lab().docker(n.name, "network", "inspect", "bramble-pods", "--format", "{{range .IPAM.Config}}{{.Subnet}}{{end}}");
      expect(net.stdout.trim()).toBe(cidr);
      expect(inCidr(peerOn(n.name).ip, cidr)).toBe(true);
    }
  });

  test("pod to pod across nodes by pod IP", async () => {
    for (const from of peers) {
      for (const to of peers.filter((p) => p.node !== from.node)) {
        // Routes to a node that joined last reach the others through their Node watch: poll.
        expect(await eventually(`${to.ip} from ${from.node}`, () => wgetFrom(from.name, `http://${to.ip}:8080/`), 15_000)).toBe(to.name);
      }
    }
  });

  test("a Service's ClusterIP and DNS names answer from pods on other nodes", async () => {
    await apply(service("web", "web"));
    const svc = await json("get", "service", "web");
    const clusterIP = svc.spec.clusterIP as string;
    expect(clusterIP).toMatch(/^10\.43\./);
    const webPods = (await podsOf("web")).map((p) => p.name);
    for (const node of ["lab-n0", "lab-n1"]) {
      const client = peerOn(node).name;
      // Rules reach each node through its own proxy: poll until this one has them.
      const body = await eventually(`web's ClusterIP from ${node}`, () => wgetFrom(client, `http://${clusterIP}/`), 30_000);
      expect(webPods).toContain(body);
      const lookup = await eventually(`web.default.svc.cluster.local in ${node}'s DNS`, async () => {
        const r = await lab().kubectl("exec", client, "--", "busybox", "nslookup", "web.default.svc.cluster.local");
        return r.stdout.includes(clusterIP) && r;
      }, 15_000);
      expect(lookup.stdout).toContain(`Address: ${clusterIP}`);
      // Asked directly, as a pod's resolver does: the cluster DNS address answers from the pod.
      const direct = await lab().kubectl("exec", client, "--", "busybox", "nslookup", "web.default.svc.cluster.local", "10.43.0.10");
      expect(direct.stdout).toContain("Server:\t\t10.43.0.10");
      expect(direct.stdout).toContain(`Address: ${clusterIP}`);
      for (const name of ["web", "web.default", "web.default.svc.cluster.local"]) {
        // Each node's DNS learns the Service from its own informer: poll.
        expect(webPods).toContain(await eventually(`http://${name}/ from ${node}`, () => wgetFrom(client, `http://${name}/`), 15_000));
      }
    }
  });

  // Not Docker's embedded resolver (127.0.0.11), which a user-defined network would give.
  test("a pod's resolv.conf names the cluster DNS address, the Kubernetes search path and ndots:5", async () => {
    const resolv = await lab().kubectl("exec", peerOn("lab-n1").name, "--", "cat", "/etc/resolv.conf");
    expect(resolv.stdout).toMatch(/^nameserver 10\.43\.0\.10$/m);
    expect(resolv.stdout).toMatch(/^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/m);
    expect(resolv.stdout).toMatch(/ndots:5/);
  });

  test("a pod that gives up on a DNS query does not take the node's DNS (or the server) down", async () => {
    // On the server's node, whose DNS runs in the server process. The name is not a cluster name,
    // so it is forwarded to the node's resolvers, which the lab's namespaces cannot reach (no
    // route out): the client gives up after 1 s and its answer, if any, finds a closed port.
    const client = peerOn("lab-n0").name;
    for (let i = 0; i < 2; i++) {
      const r = await lab().kubectl("exec", client, "--", "busybox", "nslookup", "-timeout=1", "-retry=1", "bramble-lab.invalid", "10.43.0.10");
      expect(r.code).not.toBe(0);
    }
    await Bun.sleep(3_000); // past the forwarder's timeout: its late answer has been sent by now
    const after = await lab().kubectl("exec", client, "--", "busybox", "nslookup", "kubernetes.default.svc.cluster.local", "10.43.0.10");
    expect(after.stdout).toContain("Address: 10.43.0.1");
    expect(lab().running("lab-n0")).toBe(true);
  });

  test("a NodePort answers on every node's address, from the host", async () => {
    await apply(service("web-np", "web", { type: "NodePort" }));
    const svc = await json("get", "service", "web-np");
    const nodePort = svc.spec.ports[0].nodePort as number;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    const webPods = (await podsOf("web")).map((p) => p.name);
    for (const n of lab().nodes) {
      const body = await eventually(`NodePort ${nodePort} on ${n.name}`, () => fetchText(`http://${n.ip}:${nodePort}/`), 30_000);
      expect(webPods).toContain(body);
    }
    // And on 127.0.0.1 on each node, as kube-proxy allows (the host's busybox, in the node's namespace).
    for (const n of lab().nodes) {
      const local = await lab().inNode(n.name, ["busybox", "timeout", "5", "busybox", "wget", "-q", "-O", "-", `http://127.0.0.1:${nodePort}/`]);
      expect(webPods).toContain(local.stdout.trim());
    }
  });

  test("externalTrafficPolicy Local: the NodePort answers only on the node that runs a pod", async () => {
    await apply(service("web-local", "web", { type: "NodePort", externalTrafficPolicy: "Local" }));
    const nodePort = (await json("get", "service", "web-local")).spec.ports[0].nodePort as number;
    const webPods = (await podsOf("web")).map((p) => p.name);
    // web runs on lab-n2 only.
    expect(webPods).toContain(await eventually("web-local on lab-n2", () => fetchText(`http://${lab().node("lab-n2").ip}:${nodePort}/`), 30_000));
    for (const n of ["lab-n0", "lab-n1"]) {
      const refused = await fetchText(`http://${lab().node(n).ip}:${nodePort}/`).then(
        (body) => `answered: ${body}`,
        () => "no answer",
      );
      expect(refused).toBe("no answer");
    }
  });

  test("externalTrafficPolicy Local on a LoadBalancer: every node answers its health check NodePort, 200 where the pods run, 503 elsewhere", async () => {
    // Another class: ServiceLB leaves it alone (no svclb pods); the health check is the proxy's.
    await apply(service("web-hc", "web", { type: "LoadBalancer", externalTrafficPolicy: "Local", loadBalancerClass: "example.com/none", ports: [{ name: "http", port: 8082, targetPort: "http" }] }));
    const hc = (await json("get", "service", "web-hc")).spec.healthCheckNodePort as number;
    expect(hc).toBeGreaterThanOrEqual(30000);
    const health = async (node: string) => {
      const res = await fetch(`http://${lab().node(node).ip}:${hc}/`, { signal: AbortSignal.timeout(3_000) });
      return { status: res.status, body: await res.json() };
    };
    const named = { namespace: "default", name: "web-hc" };
    // web runs its two pods on lab-n2 only.
    expect(await eventually("lab-n2's health check", async () => (await health("lab-n2").catch(() => undefined))?.status === 200 && health("lab-n2"), 30_000)).toEqual({
      status: 200,
      body: { service: named, localEndpoints: 2, serviceProxyHealthy: true },
    });
    for (const n of ["lab-n0", "lab-n1"])
      expect(await eventually(`${n}'s health check`, async () => (await health(n).catch(() => undefined))?.status === 503 && health(n), 30_000)).toEqual({
        status: 503,
        body: { service: named, localEndpoints: 0, serviceProxyHealthy: true },
      });
  });

  test("the kube-dns Service sits at the cluster DNS address without taking queries away from each node's own DNS", async () => {
    const svc = await json("get", "service", "-n", "kube-system", "kube-dns");
    expect(svc.spec.clusterIP).toBe("10.43.0.10");
    const ep = await eventually("kube-dns endpoints on every node", async () => {
      const e = await json("get", "endpoints", "-n", "kube-system", "kube-dns");
      const ips = (e.subsets?.[0]?.addresses ?? []).map((a: any) => a.ip).sort();
      return ips.length === lab().nodes.length && ips;
    });
    expect(ep).toEqual(lab().nodes.map((n) => n.ip).sort());
    for (const n of lab().nodes) expect(await natRules(lab(), n.name)).not.toContain("10.43.0.10");
    const r = await lab().kubectl("exec", peerOn("lab-n1").name, "--", "busybox", "nslookup", "kube-dns.kube-system.svc.cluster.local", "10.43.0.10");
    expect(r.stdout).toContain("Address: 10.43.0.10");
  });

  test("a LoadBalancer Service gets the node addresses as ingress and answers there", async () => {
    await apply(service("web-lb", "web", { type: "LoadBalancer", ports: [{ name: "http", port: 8081, targetPort: "http" }] }));
    const ingress = await eventually("web-lb's status.loadBalancer.ingress", async () => {
      const s = await json("get", "service", "web-lb");
      const ips = (s.status?.loadBalancer?.ingress ?? []).map((i: any) => i.ip).sort();
      return ips.length === 3 && ips;
    });
    expect(ingress).toEqual(lab().nodes.map((n) => n.ip).sort());
    const webPods = (await podsOf("web")).map((p) => p.name);
    for (const ip of ingress) {
      const body = await eventually(`web-lb at ${ip}:8081`, () => fetchText(`http://${ip}:8081/`), 30_000);
      expect(webPods).toContain(body);
    }
  });

  test("Endpoints and rules follow a scale-down and a pod deletion", async () => {
    const before = await readyPods("web", 2);
    expect(await endpointIPs("web")).toEqual(before.map((p) => p.ip).sort());
    await eventually("both web endpoints in lab-n0's rules", async () => (await dnatTargets("lab-n0", "default/web:http")).length === 2);

    // Scale-down: one pod goes; the Endpoints, then every node's rules, drop its IP.
    let t0 = performance.now();
    expect((await lab().kubectl("scale", "deployment", "web", "--replicas=1")).code).toBe(0);
    const kept = await eventually("web's Endpoints down to one address", async () => {
      const ips = await endpointIPs("web");
      return ips.length === 1 && ips;
    });
    const tEndpoints = performance.now() - t0;
    await eventually("lab-n0's rules down to one web endpoint", async () => {
      const t = await dnatTargets("lab-n0", "default/web:http");
      return t.length === 1 && t[0] === kept[0];
    });
    const tRules = performance.now() - t0;
    for (const n of ["lab-n1", "lab-n2"]) await eventually(`${n}'s rules down to one web endpoint`, async () => (await dnatTargets(n, "default/web:http")).join() === kept.join());
    console.log(`scale-down 2→1: Endpoints followed in ${tEndpoints.toFixed(0)} ms, lab-n0's rules in ${tRules.toFixed(0)} ms`);
    expect(webPodsBody(await wgetFrom(peerOn("lab-n0").name, "http://web/"))).toBeTruthy();

    // Deletion: the remaining pod is replaced; its IP leaves, the replacement's arrives.
    const [victim] = await podsOf("web");
    t0 = performance.now();
    expect((await lab().kubectl("delete", "pod", victim!.name, "--wait=false")).code).toBe(0);
    await eventually("the deleted pod's IP out of web's Endpoints", async () => !(await endpointIPs("web")).includes(victim!.ip));
    const tGone = performance.now() - t0;
    await eventually("the deleted pod's IP out of lab-n0's rules", async () => !(await dnatTargets("lab-n0", "default/web:http")).includes(victim!.ip));
    const tGoneRules = performance.now() - t0;
    const [replacement] = await readyPods("web", 1);
    expect(replacement!.name).not.toBe(victim!.name);
    await eventually("the replacement in every node's rules", async () => {
      for (const n of lab().nodes) if ((await dnatTargets(n.name, "default/web:http")).join() !== replacement!.ip) return false;
      return true;
    });
    const tReplaced = performance.now() - t0;
    expect(await endpointIPs("web")).toEqual([replacement!.ip]);
    console.log(`pod deletion: out of Endpoints in ${tGone.toFixed(0)} ms, out of lab-n0's rules in ${tGoneRules.toFixed(0)} ms, replacement in every node's rules after ${tReplaced.toFixed(0)} ms`);
    expect(await wgetFrom(peerOn("lab-n1").name, "http://web/")).toBe(replacement!.name);
  });

  test("while an agent restarts, its node's pods keep reaching Services; after, it rebuilds the same rules and routes", async () => {
    const l = lab();
    const clusterIP = (await json("get", "service", "web")).spec.clusterIP as string;
    const peer = (await json("get", "pod", peerOn("lab-n1").name)).status.containerStatuses[0];
    const viaEngine = () => l.docker("lab-n1", "exec", peer.containerID.replace(/^docker:\/\//, ""), "busybox", "timeout", "5", "busybox", "wget", "-q", "-O", "-", `http://${clusterIP}/`);
    const rulesBefore = (await natRules(l, "lab-n1")).split("\n").filter((r) => r.startsWith("-A BRAMBLE-")).sort();
    const routes = async () => (await l.inNode("lab-n1", ["ip", "route", "show", "proto", "98"])).stdout.trim().split("\n").sort();
    const routesBefore = await routes();
    expect(routesBefore.filter((r) => r.startsWith("10.42."))).toHaveLength(2);

    await l.stopAgent("lab-n1");
    // The kernel keeps the rules and routes while the agent is away (exec goes through the engine).
    const during = await viaEngine();
    expect(during.stdout.trim()).toMatch(/^web-/);

    l.startAgent("lab-n1");
    const log = l.node("lab-n1").paths.brambleLog;
    await eventually("lab-n1's proxy synced again", async () => ((await Bun.file(log).text()).match(/rules synced kind=full/g)?.length ?? 0) >= 2);
    expect((await natRules(l, "lab-n1")).split("\n").filter((r) => r.startsWith("-A BRAMBLE-")).sort()).toEqual(rulesBefore);
    expect(await routes()).toEqual(routesBefore);
    // Exec reaches the pod once the restarted agent serves its kubelet API again (the proxy may sync first).
    const body = await eventually("a Service answer through exec on the restarted agent", () => wgetFrom(peerOn("lab-n1").name, `http://${clusterIP}/`).catch(() => undefined), 30_000);
    expect(body).toMatch(/^web-/);
    const after = (await json("get", "pod", peerOn("lab-n1").name)).status.containerStatuses[0];
    expect(after.containerID).toBe(peer.containerID);
    expect(after.restartCount).toBe(peer.restartCount);
  });

  test("after a Service is deleted its rules are gone from every node", async () => {
    const svc = await json("get", "service", "web");
    const clusterIP = svc.spec.clusterIP as string;
    for (const n of lab().nodes) expect(await natRules(lab(), n.name)).toContain(clusterIP);
    expect((await lab().kubectl("delete", "service", "web", "web-np", "web-lb", "web-local", "web-hc")).code).toBe(0);
    for (const n of lab().nodes) {
      const gone = await eventually(`web's rules gone from ${n.name}`, async () => {
        const all = (await lab().inNode(n.name, ["iptables-save"])).stdout;
        return !/default\/web(-np|-lb|-local|-hc)?:http/.test(all) && !all.includes(`${clusterIP}/32`) && all;
      }, 30_000);
      // The proxy's own chains are still there: only the Service's rules went.
      expect(gone).toContain(":BRAMBLE-SERVICES");
    }
  });

  // Last: lab-n2 is gone afterwards.
  test("a node that leaves takes its pod route off the other nodes", async () => {
    const l = lab();
    const cidr = (await json("get", "node", "lab-n2")).spec.podCIDR as string;
    const routesTo = async (node: string) => (await l.inNode(node, ["ip", "route", "show", "proto", "98"])).stdout.split("\n").filter((r) => r.startsWith(`${cidr} `));
    for (const n of ["lab-n0", "lab-n1"]) expect(await routesTo(n)).toEqual([expect.stringContaining(`via ${l.node("lab-n2").ip}`)]);
    await l.stopAgent("lab-n2");
    expect((await l.kubectl("delete", "node", "lab-n2")).code).toBe(0);
    for (const n of ["lab-n0", "lab-n1"]) await eventually(`${n}'s route to ${cidr} gone`, async () => (await routesTo(n)).length === 0);
  });
});

function webPodsBody(body: string) {
  return /^web-/.test(body) ? body : undefined;
}
