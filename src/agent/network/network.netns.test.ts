// The pod network on a real kernel: two "nodes" (network namespaces on a shared LAN bridge,
// their FORWARD policy DROP as Docker leaves it), each with a "pod" namespace on a bridge for its
// podCIDR (standing in for Docker's network, which the fake runtime does not make), programmed
// by startPodNetwork through inNetns against the in-process API server. Real traffic: pod to
// pod across nodes keeps its source, pod to outside is masqueraded, the node reaches a ClusterIP,
// a Service IP without rules is unreachable, routes follow a node leaving, reset removes it all.
// Namespaces are prefixed bpn- and removed afterwards, also after a failure.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodes as nodesDef, type Node } from "../../api/resources/core/node";
import { createLogger } from "../../machinery/log";
import { inNetns, mustRun, runCommand } from "../host/run";
import { DEFAULT_CLUSTER_NETWORK } from "../cluster-network";
import { eventually, startHttpTestApi, type HttpTestApi } from "../node/testing";
import { FakeRuntime } from "../runtime/fake/fake";
import { startPodNetwork, type PodNetwork } from "./pod-network";
import { resetPodNetwork } from "./reset";
import { missingCommand, notRoot, requirements } from "../../machinery/test-requirements";

const skip = requirements("pod network on a real kernel", notRoot("network namespaces, iptables"), missingCommand("ip"), missingCommand("iptables-restore"), missingCommand("nsenter"));
const BUSYBOX = "/bin/busybox";
const LAN = "172.31.251";
const NS = { lan: "bpn-lan", n1: "bpn-n1", n2: "bpn-n2", p1: "bpn-p1", p2: "bpn-p2" };
const sh = (cmd: string) => mustRun(runCommand, ["sh", "-c", cmd]);
const inNs = (ns: string, cmd: string) => mustRun(inNetns(ns), ["sh", "-c", cmd]);
const log = createLogger("netns-test", { level: "warn" });

let api: HttpTestApi;
let www = "";
const servers: Bun.Subprocess[] = [];
const nets: PodNetwork[] = [];
const podIp: Record<string, string> = {};

async function removeNamespaces() {
  for (const ns of Object.values(NS)) await runCommand(["ip", "netns", "del", ns]);
}

/** busybox httpd in `ns` on :8080 whose /cgi-bin/ip answers with the client's address as it arrived. */
function serveRemoteAddr(ns: string) {
  servers.push(Bun.spawn(["nsenter", `--net=/var/run/netns/${ns}`, BUSYBOX, "httpd", "-f", "-p", "0.0.0.0:8080", "-h", www], { stdout: "ignore", stderr: "ignore" }));
}
async function get(ns: string, url: string): Promise<{ ok: boolean; body: string; error: string }> {
  const r = await inNetns(ns)(["timeout", "5", BUSYBOX, "wget", "-q", "-O", "-", url]);
  return { ok: r.code === 0, body: r.stdout.trim(), error: r.stderr.trim() };
}

async function addNode(name: string, ip: string): Promise<string> {
  const nodes = api.client.resource<Node>(nodesDef);
  await nodes.create(undefined, { metadata: { name } } as Node);
  await nodes.patch(undefined, name, { status: { addresses: [{ type: "InternalIP", address: ip }] } }, "merge", "status");
  return (await nodes.get(undefined, name)).spec!.podCIDR!;
}

/** A node namespace on the LAN with a pod bridge for its podCIDR and one pod namespace on it. */
async function makeNode(node: string, pod: string, lanIp: string, podCidr: string, idx: number) {
  const prefix = podCidr.replace(/\.0\/24$/, "");
  podIp[pod] = `${prefix}.2`;
  // route_localnet on, before the node's devices arrive, as the Service proxy leaves a real node
  // (for 127.0.0.1 NodePorts): the node's own ClusterIP connections must still get its address
  // as their source, not 127.0.0.1.
  await sh(`ip netns add ${node} && ip netns add ${pod}
    ip netns exec ${node} sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.default.route_localnet=1
    ip link add bpn-l${idx} type veth peer name bpn-e${idx}
    ip link set bpn-l${idx} netns ${NS.lan} && ip link set bpn-e${idx} netns ${node}
    ip link add bpn-h${idx} type veth peer name bpn-c${idx}
    ip link set bpn-h${idx} netns ${node} && ip link set bpn-c${idx} netns ${pod}`);
  await inNs(NS.lan, `ip link set bpn-l${idx} master bpn-br && ip link set bpn-l${idx} up`);
  // (busybox 1.35 wget -T segfaults, hence timeout(1).)
  // Docker sets FORWARD's policy to DROP; the pod network has to work despite it.
  await inNs(node, `ip link set lo up && ip addr add ${lanIp}/24 dev bpn-e${idx} && ip link set bpn-e${idx} up
    ip link add bpn-pods type bridge && ip addr add ${prefix}.1/24 dev bpn-pods && ip link set bpn-pods up
    ip link set bpn-h${idx} master bpn-pods && ip link set bpn-h${idx} up
    iptables -P FORWARD DROP`);
  await inNs(pod, `ip link set lo up && ip addr add ${prefix}.2/24 dev bpn-c${idx} && ip link set bpn-c${idx} up && ip route add default via ${prefix}.1`);
}

describe.skipIf(!!skip)("pod network on a real kernel (namespaces bpn-*)", () => {
  beforeAll(async () => {
    await removeNamespaces(); // leftovers of a killed run
    www = mkdtempSync(join(tmpdir(), "bpn-www-"));
    mkdirSync(join(www, "cgi-bin"));
    writeFileSync(join(www, "cgi-bin", "ip"), '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho "$REMOTE_ADDR"\n');
    chmodSync(join(www, "cgi-bin", "ip"), 0o755);

    api = await startHttpTestApi();
    const cidr1 = await addNode(NS.n1, `${LAN}.11`);
    const cidr2 = await addNode(NS.n2, `${LAN}.12`);
    await sh(`ip netns add ${NS.lan}`);
    await inNs(NS.lan, `ip link set lo up && ip link add bpn-br type bridge && ip addr add ${LAN}.1/24 dev bpn-br && ip link set bpn-br up`);
    await makeNode(NS.n1, NS.p1, `${LAN}.11`, cidr1, 1);
    await makeNode(NS.n2, NS.p2, `${LAN}.12`, cidr2, 2);
    for (const ns of [NS.lan, NS.p2]) serveRemoteAddr(ns);

    for (const [node, ip] of [[NS.n1, `${LAN}.11`], [NS.n2, `${LAN}.12`]] as const) {
      nets.push(await startPodNetwork({ client: api.client, runtime: new FakeRuntime(), nodeName: node, nodeIp: ip, cluster: DEFAULT_CLUSTER_NETWORK, run: inNetns(node), log, resyncIntervalMs: 60_000 }));
    }
  }, 30_000);

  afterAll(async () => {
    for (const n of nets) await n.stop();
    for (const s of servers) s.kill();
    await api?.stop();
    if (!process.env.BPN_KEEP) await removeNamespaces();
    if (www) rmSync(www, { recursive: true, force: true });
  });

  test("each node routes the other's podCIDR via its LAN address, with bramble's proto", async () => {
    const routes = await inNs(NS.n1, "ip -4 route show proto 98");
    expect(routes).toContain(`${nets[1]!.podCidr} via ${LAN}.12 dev bpn-e1`);
    expect(routes).toContain("unreachable 10.43.0.0/16");
    expect(await inNs(NS.n1, "sysctl -n net.ipv4.ip_forward")).toBe("1\n");
  });

  test("the chains are in place and FORWARD jumps to bramble's before anything else", async () => {
    const filter = await inNs(NS.n1, "iptables -S FORWARD");
    expect(filter.split("\n")[1]).toBe('-A FORWARD -m comment --comment "bramble pod network" -j BRAMBLEPOD-FORWARD');
    const nat = await inNs(NS.n1, "iptables -t nat -S BRAMBLEPOD-MASQ");
    expect(nat).toContain("-A BRAMBLEPOD-MASQ -s 10.42.0.0/16 ! -d 224.0.0.0/4");
  });

  test("a pod reaches a pod on the other node, which sees the pod's own IP", async () => {
    const r = await get(NS.p1, `http://${podIp[NS.p2]}:8080/cgi-bin/ip`);
    expect(r).toEqual({ ok: true, body: podIp[NS.p1]!, error: "" });
  });

  test("a pod reaching outside the cluster is masqueraded to its node's address", async () => {
    const r = await get(NS.p1, `http://${LAN}.1:8080/cgi-bin/ip`);
    expect(r).toEqual({ ok: true, body: `${LAN}.11`, error: "" });
  });

  test("the node itself reaches a ClusterIP (DNAT in OUTPUT) despite the unreachable Service range", async () => {
    await inNs(NS.n1, `iptables -t nat -A OUTPUT -d 10.43.0.5 -p tcp --dport 80 -j DNAT --to-destination ${podIp[NS.p2]}:8080`);
    try {
      const r = await get(NS.n1, "http://10.43.0.5/cgi-bin/ip");
      expect(r.ok).toBe(true);
      expect(r.body).toBe(`${LAN}.11`);
    } finally {
      await inNs(NS.n1, `iptables -t nat -D OUTPUT -d 10.43.0.5 -p tcp --dport 80 -j DNAT --to-destination ${podIp[NS.p2]}:8080`);
    }
  });

  test("a pod's packet for a Service IP without rules is refused on the node, not sent on", async () => {
    const r = await get(NS.p1, "http://10.43.0.99:80/");
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/No route to host|unreachable/i);
  });

  test("a node whose address is not on the LAN gets no route (the kernel refuses it) and does not hold up the others", async () => {
    const far = await addNode("bpn-far", "203.0.113.7");
    const near = await addNode("bpn-near", `${LAN}.13`);
    await eventually(async () => (await inNs(NS.n1, "ip -4 route show proto 98")).includes(`${near} via ${LAN}.13`), 5000, "route to bpn-near");
    const routes = await inNs(NS.n1, "ip -4 route show proto 98");
    expect(routes).not.toContain(far);
    expect(routes).toContain(`${nets[1]!.podCidr} via ${LAN}.12`);
    for (const n of ["bpn-far", "bpn-near"]) await api.client.resource<Node>(nodesDef).delete(undefined, n);
    await eventually(async () => !(await inNs(NS.n2, "ip -4 route show proto 98")).includes(near), 5000, "bpn-near's route gone from n2");
  });

  test("a node that leaves loses its route; restarting the pod network changes nothing that works", async () => {
    await nets[0]!.stop();
    nets[0] = await startPodNetwork({ client: api.client, runtime: new FakeRuntime(), nodeName: NS.n1, nodeIp: `${LAN}.11`, cluster: DEFAULT_CLUSTER_NETWORK, run: inNetns(NS.n1), log });
    expect((await inNs(NS.n1, "iptables -S FORWARD")).match(/BRAMBLEPOD-FORWARD/g)).toHaveLength(1);
    expect((await inNs(NS.n1, "ip -4 rule show")).match(/lookup 98/g)).toHaveLength(1);
    expect((await get(NS.p1, `http://${podIp[NS.p2]}:8080/cgi-bin/ip`)).ok).toBe(true);

    await api.client.resource<Node>(nodesDef).delete(undefined, NS.n2);
    await eventually(async () => !(await inNs(NS.n1, "ip -4 route show proto 98")).includes(" via "), 5000, "n2's route gone from n1");
  });

  test("resetPodNetwork removes bramble's routes, rule, table and chains, and nothing else", async () => {
    await nets[1]!.stop();
    // Someone else's route in table 98 (another program may use that number too) stays.
    await inNs(NS.n2, "ip -4 route add 198.51.100.0/24 dev lo table 98");
    expect(await inNs(NS.n2, "ip -4 route show table 98 proto 98")).toContain("10.43.0.0/16 dev lo");
    const summary = await resetPodNetwork({ run: inNetns(NS.n2) });
    expect(summary).toBe("pod network: removed 1 routes, 3 service-range routes/rules, 2 iptables chains");
    expect(await inNs(NS.n2, "ip -4 route show proto 98")).toBe("");
    expect(await inNs(NS.n2, "ip -4 route show table 98 proto 98")).toBe("");
    expect(await inNs(NS.n2, "ip -4 route show table 98")).toBe("198.51.100.0/24 dev lo scope link \n");
    expect(await inNs(NS.n2, "ip -4 rule show")).not.toContain("lookup 98");
    const saved = (await inNs(NS.n2, "iptables-save")).split("\n").filter((l) => !l.startsWith("#"));
    expect(saved.join("\n")).not.toContain("BRAMBLE");
    expect(saved).toContain(":FORWARD DROP [0:0]");
    expect(await inNs(NS.n2, "ip -4 route show")).toContain("bpn-pods");
    expect(await resetPodNetwork({ run: inNetns(NS.n2) })).toBe("pod network: removed 0 routes, 0 service-range routes/rules, 0 iptables chains");
  });
});
