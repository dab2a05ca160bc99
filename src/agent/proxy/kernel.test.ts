// The proxy's rules in a real kernel: namespaces the test creates (bpx-*), busybox httpd as the
// endpoint, curl as the client. Root only; skipped otherwise.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { EndpointSlice } from "../../api/resources/discovery/endpointslice";
import type { Service } from "../../api/resources/core/service";
import type { CommandRunner } from "../host/run";
import { endpointSlice, service } from "./fixtures";
import { ensureSysctls, resetServiceProxy } from "./iptables";
import { createNetnsLab, netnsLabMissing, LAB, type NetnsLab } from "./netns-lab";
import { renderContext } from "./render";
import { ProxySyncer } from "./syncer";
import { missingCommand, requirements } from "../../machinery/test-requirements";

const BODY = "hello from the endpoint\n";
const key = (o: { metadata: { namespace?: string; name?: string } }) => `${o.metadata.namespace}/${o.metadata.name}`;

/** A ProxySource over plain maps, standing in for the informers. */
class Objects {
  svcs = new Map<string, Service>();
  /** Each Service's one slice, by the Service's key. */
  eps = new Map<string, EndpointSlice>();
  put(...objs: (Service | EndpointSlice)[]) {
    for (const o of objs) {
      if (o.kind === "Service") this.svcs.set(key(o), o as Service);
      else this.eps.set(`${o.metadata.namespace}/${o.metadata.labels!["kubernetes.io/service-name"]}`, o as EndpointSlice);
    }
  }
  source = { services: () => this.svcs.values(), service: (k: string) => this.svcs.get(k), slices: (k: string) => (this.eps.has(k) ? [this.eps.get(k)!] : undefined) };
}

const ctx = renderContext({ nodeName: "node-a", cluster: LAB });
const web = () => service("default", "web", "10.43.0.20", { type: "NodePort", ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30080 }] });
const webEps = () => endpointSlice("default", "web", [{ ip: LAB.endpoint, node: "node-a" }]);

describe.skipIf(!!requirements("proxy rules in a real kernel", netnsLabMissing()))("proxy rules in a real kernel", () => {
  let lab: NetnsLab;
  const save = async (table = "nat") => (await lab.runNode(["iptables-save", "-t", table])).stdout;

  beforeAll(async () => {
    lab = await createNetnsLab("bpx");
    await lab.serve([8080], BODY);
    // Two "pods" telling who they are, for spreading and affinity.
    await lab.serveAt(LAB.endpoint, 9090, "one\n");
    await lab.serveAt(LAB.endpoint2, 9090, "two\n");
    expect(await ensureSysctls(lab.runNode)).not.toContain(expect.stringMatching(/route_localnet/));
  }, 60_000);
  afterAll(async () => {
    await lab?.destroy();
  }, 60_000);

  test("ClusterIP, NodePort on the node's addresses and 127.0.0.1, from outside; hairpin; refusals; deletion", async () => {
    const objs = new Objects();
    objs.put(web(), webEps(), service("default", "empty", "10.43.0.21"), endpointSlice("default", "empty", []));
    const syncer = new ProxySyncer(lab.runNode, objs.source, ctx);
    expect((await syncer.sync()).kind).toBe("full");

    expect(await lab.get(lab.node, "http://10.43.0.20/")).toBe(BODY);
    expect(await lab.get(lab.node, `http://${LAB.nodePod}:30080/`)).toBe(BODY);
    expect(await lab.get(lab.node, `http://${LAB.nodeOutside}:30080/`)).toBe(BODY);
    expect(await lab.get(lab.node, "http://127.0.0.1:30080/")).toBe(BODY);
    expect(await lab.get(lab.client, `http://${LAB.nodeOutside}:30080/`)).toBe(BODY);
    // Hairpin: the endpoint reaching itself through its own Service.
    expect(await lab.get(lab.endpoint, "http://10.43.0.20/")).toBe(BODY);
    // From the node: refused at once (curl 7, "couldn't connect"), not left to time out (28), for
    // a Service without endpoints and for a Service address with no Service at all.
    expect(await lab.get(lab.node, "http://10.43.0.21/")).toBe("ERR 7");
    expect(await lab.get(lab.node, "http://10.43.9.9/")).toBe("ERR 7");
    // Routed traffic (a pod, a host outside) to an unknown Service address is refused on the node
    // instead of following the node's default route. (The ICMP errors telling the sender are
    // rate-limited by the kernel, so the client may see a refusal or a time-out: the rule's
    // counter says where the packets ended.)
    const catchAll = async () => Number(/^\s*(\d+).*service addresses with no rule/m.exec((await lab.runNode(["iptables", "-t", "filter", "-L", "BRAMBLE-SERVICES", "-v", "-n", "-x"])).stdout)?.[1]);
    const before = await catchAll();
    expect(await lab.get(lab.endpoint, "http://10.43.9.9/", 1)).toMatch(/^ERR (7|28)$/);
    expect(await lab.get(lab.client, "http://10.43.9.9/", 1)).toMatch(/^ERR (7|28)$/);
    expect(await catchAll()).toBeGreaterThanOrEqual(before + 2);

    // Deleting the Service: a partial sync removes its chains and the address stops answering.
    const chainsBefore = (await save()).match(/^:BRAMBLE-(SVC|EXT)-\S+/gm) ?? [];
    expect(chainsBefore.length).toBe(2);
    objs.svcs.delete("default/web");
    syncer.markDirty("default/web");
    expect((await syncer.sync()).kind).toBe("partial");
    expect(await save()).not.toMatch(/BRAMBLE-(SVC|EXT)-/);
    expect(await lab.get(lab.node, "http://10.43.0.20/")).toBe("ERR 7");
    expect(await lab.get(lab.node, `http://${LAB.nodePod}:30080/`)).toMatch(/^ERR/);
  }, 60_000);

  test("a failing iptables-restore leaves the previous rules working; the retry is a full sync", async () => {
    const objs = new Objects();
    objs.put(web(), webEps());
    let breakRestore = false;
    // Corrupts the nat table's input, the way a kernel without some module would refuse it.
    const run: CommandRunner = (argv, stdin) =>
      breakRestore && argv[0] === "iptables-restore" && stdin ? lab.runNode(argv, stdin.replace("*nat\n", "*nat\n-A BRAMBLE-NO-SUCH-CHAIN -j ACCEPT\n")) : lab.runNode(argv, stdin);
    const syncer = new ProxySyncer(run, objs.source, ctx);
    await syncer.sync();
    const before = await save();
    expect(await lab.get(lab.node, "http://10.43.0.20/")).toBe(BODY);

    breakRestore = true;
    objs.put(endpointSlice("default", "web", [{ ip: LAB.endpoint, node: "node-a" }, { ip: "10.42.5.99", node: "node-a" }]));
    syncer.markDirty("default/web");
    await expect(syncer.sync()).rejects.toThrow(/iptables-restore failed/);
    expect(await save()).toBe(before);
    expect(await lab.get(lab.node, "http://10.43.0.20/")).toBe(BODY);

    breakRestore = false;
    objs.put(webEps());
    expect((await syncer.sync()).kind).toBe("full");
    expect(await lab.get(lab.node, "http://10.43.0.20/")).toBe(BODY);
  }, 60_000);

  test("a restarted proxy takes over: stale chains from the last run swept, live ones kept, jumps not duplicated", async () => {
    const objs = new Objects();
    const other = service("default", "other", "10.43.0.22");
    objs.put(web(), webEps(), other, endpointSlice("default", "other", [{ ip: LAB.endpoint }]));
    await new ProxySyncer(lab.runNode, objs.source, ctx).sync();
    expect((await save()).match(/^:BRAMBLE-SVC-/gm)?.length).toBe(2);

    // "other" is deleted while no proxy runs; a new one starts with an empty memory.
    objs.svcs.delete("default/other");
    const restarted = new ProxySyncer(lab.runNode, objs.source, ctx);
    const r = await restarted.sync();
    expect(r).toMatchObject({ kind: "full", staleChains: 1 });
    const nat = await save();
    expect(nat.match(/^:BRAMBLE-SVC-/gm)?.length).toBe(1);
    expect(nat.match(/-A PREROUTING .*-j BRAMBLE-SERVICES/g)?.length).toBe(1);
    expect(nat.match(/-A OUTPUT .*-j BRAMBLE-SERVICES/g)?.length).toBe(1);
    expect(await lab.get(lab.node, "http://10.43.0.20/")).toBe(BODY);
    expect(await lab.get(lab.node, "http://10.43.0.22/")).toBe("ERR 7");
  }, 60_000);

  test("an established connection through a ClusterIP survives a restarted proxy's full sync", async () => {
    const server = Bun.spawn(["nsenter", `--net=/var/run/netns/${lab.endpoint}`, "/bin/busybox", "nc", "-l", "-p", "7000", "-e", "/bin/cat"], { stdout: "ignore", stderr: "ignore" });
    let client: ReturnType<typeof Bun.spawn> | undefined;
    try {
      const objs = new Objects();
      objs.put(service("default", "echo", "10.43.0.50", { ports: [{ name: "echo", protocol: "TCP", port: 7000, targetPort: 7000 }] }));
      objs.put(endpointSlice("default", "echo", [{ ip: LAB.endpoint }], [{ name: "echo", port: 7000 }]));
      await new ProxySyncer(lab.runNode, objs.source, ctx).sync();
      await Bun.sleep(200); // the listener
      client = Bun.spawn(["nsenter", `--net=/var/run/netns/${lab.node}`, "/bin/busybox", "nc", "10.43.0.50", "7000"], { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
      const reader = (client.stdout as ReadableStream<Uint8Array>).getReader();
      const stdin = client.stdin as import("bun").FileSink;
      const echo = async (line: string) => {
        stdin.write(`${line}\n`);
        await stdin.flush();
        const got = await Promise.race([reader.read(), Bun.sleep(5_000).then(() => undefined)]);
        return got?.value ? new TextDecoder().decode(got.value) : "no answer";
      };
      expect(await echo("before")).toBe("before\n");
      // The agent restarts: a new proxy, empty memory, rewrites every chain (full sync).
      expect((await new ProxySyncer(lab.runNode, objs.source, ctx).sync()).kind).toBe("full");
      expect(await echo("after")).toBe("after\n");
    } finally {
      client?.kill();
      server.kill();
      await Promise.all([client?.exited, server.exited]);
    }
  }, 60_000);

  test("two endpoints: connections spread over both; ClientIP affinity keeps a client on one", async () => {
    const objs = new Objects();
    const pair = () => endpointSlice("default", "pair", [{ ip: LAB.endpoint }, { ip: LAB.endpoint2 }], [{ name: "http", port: 9090 }]);
    objs.put(service("default", "pair", "10.43.0.30"), pair());
    objs.put(service("default", "sticky", "10.43.0.31", { sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }));
    objs.put(endpointSlice("default", "sticky", [{ ip: LAB.endpoint }, { ip: LAB.endpoint2 }], [{ name: "http", port: 9090 }]));
    await new ProxySyncer(lab.runNode, objs.source, ctx).sync();
    // Who answered 24 connections (a busy machine may time some out: those are left out).
    const answers = async (ip: string) => {
      const seen: string[] = [];
      for (let i = 0; i < 24; i++) {
        const body = await lab.get(lab.node, `http://${ip}/`);
        if (!body.startsWith("ERR")) seen.push(body);
      }
      return seen;
    };
    // At 1/2 each, all answers from one endpoint has a chance of 2^-(n-1).
    const spread = await answers("10.43.0.30");
    expect(spread.length).toBeGreaterThanOrEqual(12);
    expect(new Set(spread)).toEqual(new Set(["one\n", "two\n"]));
    const sticky = await answers("10.43.0.31");
    expect(sticky.length).toBeGreaterThanOrEqual(12);
    expect(new Set(sticky).size).toBe(1);
  }, 120_000);

  test("externalTrafficPolicy Local: a NodePort from outside reaches a local endpoint, and is dropped on a node without one", async () => {
    const objs = new Objects();
    const local = (node: string) => [
      service("default", "loc", "10.43.0.40", { type: "NodePort", externalTrafficPolicy: "Local", ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30090 }] }),
      endpointSlice("default", "loc", [{ ip: LAB.endpoint, node }]),
    ];
    objs.put(...local("node-a"));
    const syncer = new ProxySyncer(lab.runNode, objs.source, ctx);
    await syncer.sync();
    expect(await lab.get(lab.client, `http://${LAB.nodeOutside}:30090/`)).toBe(BODY);

    objs.put(...local("node-b"));
    syncer.markDirty("default/loc");
    await syncer.sync();
    // Dropped, not refused: the client times out (28).
    expect(await lab.get(lab.client, `http://${LAB.nodeOutside}:30090/`, 1)).toBe("ERR 28");
    // The node itself and pods still reach the (remote) endpoint, as kube-proxy does.
    expect(await lab.get(lab.node, `http://${LAB.nodeOutside}:30090/`)).toBe(BODY);
    expect(await lab.get(lab.node, "http://10.43.0.40/")).toBe(BODY);
  }, 60_000);

  test("loadBalancerSourceRanges: the load-balancer address answers only the listed sources", async () => {
    const objs = new Objects();
    const lb = (ranges: string[]) =>
      service("default", "lb", "10.43.0.60", { type: "LoadBalancer", loadBalancerSourceRanges: ranges, ports: [{ name: "http", protocol: "TCP", port: 8081, targetPort: 8080, nodePort: 30091 }] }, [LAB.nodeOutside]);
    objs.put(lb([`${LAB.client}/32`]), endpointSlice("default", "lb", [{ ip: LAB.endpoint }]));
    const syncer = new ProxySyncer(lab.runNode, objs.source, ctx);
    await syncer.sync();
    expect(await lab.get(lab.client, `http://${LAB.nodeOutside}:8081/`)).toBe(BODY);

    objs.put(lb(["198.51.100.0/24"]));
    syncer.markDirty("default/lb");
    await syncer.sync();
    // Dropped (28), not refused; the NodePort is not filtered, as upstream.
    expect(await lab.get(lab.client, `http://${LAB.nodeOutside}:8081/`, 1)).toBe("ERR 28");
    expect(await lab.get(lab.client, `http://${LAB.nodeOutside}:30091/`)).toBe(BODY);
  }, 60_000);

  test.skipIf(!!requirements("conntrack flows of a UDP endpoint", missingCommand("conntrack")))("a UDP endpoint going away takes its conntrack flows with it; the new endpoint gets the next datagram", async () => {
    const objs = new Objects();
    const udp = service("default", "udp", "10.43.0.80", { ports: [{ name: "dns", protocol: "UDP", port: 53, targetPort: 5353 }] });
    const at = (ip: string) => endpointSlice("default", "udp", [{ ip }], [{ name: "dns", port: 5353, protocol: "UDP" }]);
    objs.put(udp, at(LAB.endpoint));
    const syncer = new ProxySyncer(lab.runNode, objs.source, ctx);
    await syncer.sync();
    // One datagram from a fixed source port: the flow is DNATed to the first endpoint.
    // (busybox nc has no UDP: bun itself sends it, inside the node's namespace.)
    const send = () => lab.runNode([process.execPath, "-e", `const s = await Bun.udpSocket({ port: 40053 }); s.send("ping", 53, "10.43.0.80"); await Bun.sleep(100); s.close();`]);
    const flowsTo = async (ip: string) => (await lab.runNode(["conntrack", "-L", "-p", "udp", "--orig-dst", "10.43.0.80", "--dst-nat", ip])).stdout.split("\n").filter(Boolean).length;
    await send();
    expect(await flowsTo(LAB.endpoint)).toBe(1);

    objs.put(at(LAB.endpoint2));
    syncer.markDirty("default/udp");
    expect(await syncer.sync()).toMatchObject({ kind: "partial", udpFlowDeletes: 1 });
    expect(await flowsTo(LAB.endpoint)).toBe(0);
    await send();
    expect(await flowsTo(LAB.endpoint2)).toBe(1);
  }, 60_000);

  test("resetServiceProxy removes every BRAMBLE- chain and the jumps to them", async () => {
    const objs = new Objects();
    objs.put(web(), webEps());
    await new ProxySyncer(lab.runNode, objs.source, ctx).sync();
    const summary = await resetServiceProxy(lab.runNode);
    // 9 shared chains (5 nat, 4 filter), web's SVC and EXT.
    expect(summary).toMatch(/^service proxy: removed 11 iptables chains and 10 jumps to them$/);
    expect(await save("nat")).not.toContain("BRAMBLE");
    expect(await save("filter")).not.toContain("BRAMBLE");
    expect(await resetServiceProxy(lab.runNode)).toBe("service proxy: removed 0 iptables chains and 0 jumps to them");
  }, 60_000);
});
