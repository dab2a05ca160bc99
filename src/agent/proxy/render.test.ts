import { describe, expect, test } from "bun:test";
import { svcChain } from "./chains";
import { endpointSlice, service } from "./fixtures";
import { renderRules, type ProxyState } from "./render";

const cluster = { clusterCidr: "10.42.0.0/16", serviceCidr: "10.43.0.0/16" };
const state = (services: ProxyState["services"], slices: ProxyState["slices"]): ProxyState => ({ services, slices, nodeName: "node-a", nodeIps: ["192.168.1.10"], cluster });
const natPart = (text: string) => text.slice(text.indexOf("*nat"));
const filterPart = (text: string) => text.slice(0, text.indexOf("*nat"));
/** The lines of one table that are not there with no Services at all. */
const emptyNat = natPart(renderRules(state([], [])));
const emptyFilter = filterPart(renderRules(state([], [])));
const serviceLines = (text: string, empty: string) => text.split("\n").filter((l) => !empty.split("\n").includes(l));

describe("renderRules", () => {
  test("no Services: only the static chains", () => {
    expect(renderRules(state([], []))).toMatchSnapshot();
  });

  test("ClusterIP with three ready endpoints: DNAT spread 1/3, 1/2, rest; masquerade from outside the pod network; hairpin", () => {
    const text = renderRules(state([service("default", "web", "10.43.0.20")], [endpointSlice("default", "web", [{ ip: "10.42.0.7" }, { ip: "10.42.1.5", node: "node-b" }, { ip: "10.42.0.3" }])]));
    expect(text).toMatchSnapshot();
    expect(text).toContain("--probability 0.3333333333 -p tcp -m tcp -j DNAT --to-destination 10.42.0.3:8080");
    expect(text).toContain("--probability 0.5000000000 -p tcp -m tcp -j DNAT --to-destination 10.42.0.7:8080");
    expect(text).toMatch(/-A BRAMBLE-SVC-\w+ -m comment --comment "default\/web:http -> 10.42.1.5:8080" -p tcp -m tcp -j DNAT --to-destination 10.42.1.5:8080\n/);
    expect(text).toContain('-s 10.42.0.7/32 -j BRAMBLE-MARK-MASQ');
    expect(text).toContain(`-A ${svcChain("default/web:http", "tcp")} -m comment --comment "default/web:http cluster IP" -d 10.43.0.20/32 -p tcp -m tcp --dport 80 ! -s 10.42.0.0/16 -j BRAMBLE-MARK-MASQ`);
    expect(filterPart(text)).toBe(emptyFilter);
  });

  test("not-ready addresses get no rule", () => {
    const text = renderRules(state([service("default", "web", "10.43.0.20")], [endpointSlice("default", "web", [{ ip: "10.42.0.7" }, { ip: "10.42.0.8", ready: false }])]));
    expect(text).toContain("10.42.0.7:8080");
    expect(text).not.toContain("10.42.0.8");
    expect(text).not.toContain("--probability");
  });

  test("a Service's slices are merged; other address types and ports of other names are left out", () => {
    const v6 = { ...endpointSlice("default", "web", [{ ip: "10.42.0.9" }], [{ name: "http", port: 8080 }], "web-v6"), addressType: "IPv6" } as ReturnType<typeof endpointSlice>;
    v6.endpoints = [{ addresses: ["fd00::9"], conditions: { ready: true } }];
    const text = renderRules(
      state(
        [service("default", "web", "10.43.0.20")],
        [
          endpointSlice("default", "web", [{ ip: "10.42.0.7" }], [{ name: "http", port: 8080 }], "web-a"),
          endpointSlice("default", "web", [{ ip: "10.42.0.8" }], [{ name: "http", port: 9090 }], "web-b"),
          endpointSlice("default", "web", [{ ip: "10.42.0.6" }], [{ name: "metrics", port: 9100 }], "web-c"),
          v6,
        ],
      ),
    );
    expect(text).toContain("--to-destination 10.42.0.7:8080");
    expect(text).toContain("--to-destination 10.42.0.8:9090");
    expect(text).not.toContain("10.42.0.6");
    expect(text).not.toContain("fd00");
    expect(text).toContain("--probability 0.5000000000");
  });

  test("no ready endpoint: those still serving while they terminate take the traffic, as kube-proxy; not-serving ones never", () => {
    const text = renderRules(
      state(
        [service("default", "web", "10.43.0.20")],
        [endpointSlice("default", "web", [{ ip: "10.42.0.7", terminating: true }, { ip: "10.42.0.8", terminating: true, serving: false }, { ip: "10.42.0.9", ready: false }])],
      ),
    );
    expect(text).toContain("--to-destination 10.42.0.7:8080");
    expect(text).not.toContain("10.42.0.8");
    expect(text).not.toContain("10.42.0.9");
    // With a ready endpoint there, the terminating one gets nothing.
    const mixed = renderRules(state([service("default", "web", "10.43.0.20")], [endpointSlice("default", "web", [{ ip: "10.42.0.7", terminating: true }, { ip: "10.42.0.5" }])]));
    expect(mixed).toContain("--to-destination 10.42.0.5:8080");
    expect(mixed).not.toContain("10.42.0.7");
  });

  test("externalTrafficPolicy Local: a local endpoint terminating but serving keeps the node serving when none is ready here", () => {
    const svc = service("shop", "front", "10.43.0.40", { type: "NodePort", externalTrafficPolicy: "Local", ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30081 }] });
    const text = renderRules(state([svc], [endpointSlice("shop", "front", [{ ip: "10.42.0.9", terminating: true }, { ip: "10.42.1.4", node: "node-b" }])]));
    expect(text).toMatch(/-A BRAMBLE-SVL-\w+ .*--to-destination 10.42.0.9:8080/);
    expect(text).not.toContain("has no local endpoints");
  });

  test("no ready endpoints: REJECT in filter, nothing in nat", () => {
    const text = renderRules(state([service("default", "web", "10.43.0.20", { type: "NodePort", ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30080 }] })], [endpointSlice("default", "web", [{ ip: "10.42.0.8", ready: false }])]));
    expect(natPart(text)).toBe(emptyNat);
    expect(serviceLines(filterPart(text), emptyFilter)).toMatchSnapshot();
  });

  test("NodePort: on every local address (127.0.0.1 included), masqueraded, to the cluster chain", () => {
    const text = renderRules(state([service("shop", "api", "10.43.0.30", { type: "NodePort", ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30080 }] })], [endpointSlice("shop", "api", [{ ip: "10.42.0.9" }])]));
    expect(serviceLines(natPart(text), emptyNat)).toMatchSnapshot();
    expect(text).toContain('-A BRAMBLE-SERVICES -m comment --comment "bramble service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j BRAMBLE-NODEPORTS');
  });

  test("LoadBalancer: ingress IPs and externalIPs dispatch to the external chain", () => {
    const svc = service("shop", "front", "10.43.0.40", { type: "LoadBalancer", externalIPs: ["203.0.113.5"], ports: [{ name: "https", protocol: "TCP", port: 443, targetPort: 8443, nodePort: 31443 }] }, ["192.168.1.10", "192.168.1.11"]);
    const text = renderRules(state([svc], [endpointSlice("shop", "front", [{ ip: "10.42.0.9" }], [{ name: "https", port: 8443 }])]));
    expect(serviceLines(natPart(text), emptyNat)).toMatchSnapshot();
  });

  test("loadBalancerSourceRanges: load-balancer IPs only from those ranges (and the node, when a range holds its IP); the rest marked for drop", () => {
    const svc = service("shop", "front", "10.43.0.40", { type: "LoadBalancer", loadBalancerSourceRanges: ["192.168.1.0/24", " 203.0.113.0/25"], ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30082 }] }, ["192.168.1.10"]);
    const text = renderRules(state([svc], [endpointSlice("shop", "front", [{ ip: "10.42.0.9" }])]));
    const lines = serviceLines(natPart(text), emptyNat);
    expect(lines).toMatchSnapshot();
    expect(lines.filter((l) => l.startsWith("-A BRAMBLE-FW-")).map((l) => l.replace(/^-A \S+ -m comment --comment "[^"]*" /, ""))).toEqual([
      "-s 192.168.1.0/24 -j " + lines.find((l) => l.startsWith(":BRAMBLE-EXT-"))!.slice(1, 29),
      "-s 203.0.113.0/25 -j " + lines.find((l) => l.startsWith(":BRAMBLE-EXT-"))!.slice(1, 29),
      "-s 192.168.1.10/32 -j " + lines.find((l) => l.startsWith(":BRAMBLE-EXT-"))!.slice(1, 29),
      "-j BRAMBLE-MARK-DROP",
    ]);
    // The NodePort is not filtered.
    expect(text).toMatch(/-A BRAMBLE-NODEPORTS .* --dport 30082 -j BRAMBLE-EXT-/);
  });

  test("externalTrafficPolicy Local with a local endpoint: external traffic only to it, unmasqueraded", () => {
    const svc = service("shop", "front", "10.43.0.40", { type: "LoadBalancer", externalTrafficPolicy: "Local", ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30081 }] }, ["192.168.1.10"]);
    const text = renderRules(state([svc], [endpointSlice("shop", "front", [{ ip: "10.42.0.9" }, { ip: "10.42.1.4", node: "node-b" }])]));
    expect(serviceLines(natPart(text), emptyNat)).toMatchSnapshot();
    expect(filterPart(text)).toBe(emptyFilter);
  });

  test("externalTrafficPolicy Local without a local endpoint: external traffic dropped, pods and the node still served", () => {
    const svc = service("shop", "front", "10.43.0.40", { type: "NodePort", externalTrafficPolicy: "Local", ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30081 }] });
    const text = renderRules(state([svc], [endpointSlice("shop", "front", [{ ip: "10.42.1.4", node: "node-b" }])]));
    expect(serviceLines(natPart(text), emptyNat)).toMatchSnapshot();
    expect(serviceLines(filterPart(text), emptyFilter)).toMatchSnapshot();
    expect(text).not.toContain("BRAMBLE-SVL-");
  });

  test("internalTrafficPolicy Local: the ClusterIP goes to this node's endpoints only (with hairpin); external traffic still to all", () => {
    const svc = service("mon", "agent", "10.43.0.70", { type: "NodePort", internalTrafficPolicy: "Local", ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30070 }] });
    const text = renderRules(state([svc], [endpointSlice("mon", "agent", [{ ip: "10.42.0.9" }, { ip: "10.42.1.4", node: "node-b" }])]));
    expect(serviceLines(natPart(text), emptyNat)).toMatchSnapshot();
    expect(text).toMatch(/-A BRAMBLE-SERVICES -m comment --comment "mon\/agent:http cluster IP" -d 10.43.0.70\/32 -p tcp -m tcp --dport 80 -j BRAMBLE-SVL-/);
    expect(text).toMatch(/-A BRAMBLE-EXT-\w+ -j BRAMBLE-SVC-/);
  });

  test("internalTrafficPolicy Local without a local endpoint: the ClusterIP is dropped here, not rejected", () => {
    const svc = service("mon", "agent", "10.43.0.70", { internalTrafficPolicy: "Local" });
    const text = renderRules(state([svc], [endpointSlice("mon", "agent", [{ ip: "10.42.1.4", node: "node-b" }])]));
    expect(natPart(text)).toBe(emptyNat);
    expect(serviceLines(filterPart(text), emptyFilter)).toEqual([
      '-A BRAMBLE-SERVICES -m comment --comment "mon/agent:http has no local endpoints" -d 10.43.0.70/32 -p tcp -m tcp --dport 80 -j DROP',
    ]);
  });

  test("sessionAffinity ClientIP: recent-list checks (refreshing) before the spread, set on the pick", () => {
    const svc = service("default", "sticky", "10.43.0.50", { sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } });
    const text = renderRules(state([svc], [endpointSlice("default", "sticky", [{ ip: "10.42.0.5" }, { ip: "10.42.0.6" }])]));
    expect(serviceLines(natPart(text), emptyNat)).toMatchSnapshot();
    expect(text.match(/--update --seconds 600 --reap -p tcp -m tcp -j DNAT/g)?.length).toBe(2);
    expect(text.match(/-m recent --name BRAMBLE-AFF-\w+ --set -p tcp -m tcp -j DNAT/g)?.length).toBe(2);
  });

  test("several ports: endpoints matched by port name, UDP, unnamed ports commented by number", () => {
    const dns = service("kube-system", "dns", "10.43.0.10", {
      ports: [
        { name: "dns", protocol: "UDP", port: 53, targetPort: 53 },
        { name: "dns-tcp", protocol: "TCP", port: 53, targetPort: 53 },
      ],
    });
    const single = service("default", "plain", "10.43.0.60", { ports: [{ protocol: "TCP", port: 5432, targetPort: 5432 }] });
    const text = renderRules(
      state(
        [dns, single],
        [
          endpointSlice("kube-system", "dns", [{ ip: "10.42.0.2" }], [{ name: "dns", port: 53, protocol: "UDP" }, { name: "dns-tcp", port: 53, protocol: "TCP" }]),
          endpointSlice("default", "plain", [{ ip: "10.42.0.12" }], [{ port: 5432 }]),
        ],
      ),
    );
    expect(serviceLines(natPart(text), emptyNat)).toMatchSnapshot();
    expect(text).toContain('-m comment --comment "default/plain:5432 cluster IP"');
    expect(text).toContain("-p udp -m udp --dport 53");
  });

  test("headless and ExternalName Services get no rules", () => {
    const text = renderRules(
      state([service("default", "headless", "None"), { ...service("default", "ext", ""), spec: { type: "ExternalName", externalName: "example.com" } }], [endpointSlice("default", "headless", [{ ip: "10.42.0.5" }])]),
    );
    expect(text).toBe(renderRules(state([], [])));
  });

  test("every per-service rule is commented namespace/name:port; output is independent of input order", () => {
    const a = service("a", "one", "10.43.1.1", { type: "NodePort", ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30001 }] });
    const b = service("b", "two", "10.43.1.2", { sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } } });
    const eps = [endpointSlice("a", "one", [{ ip: "10.42.0.1" }, { ip: "10.42.0.2" }]), endpointSlice("b", "two", [{ ip: "10.42.0.3" }])];
    const text = renderRules(state([a, b], eps));
    expect(renderRules(state([b, a], [...eps].reverse()))).toBe(text);
    for (const line of serviceLines(natPart(text), emptyNat)) {
      if (!line.startsWith("-A ") || /^-A BRAMBLE-EXT-\w+ -j BRAMBLE-SVC-/.test(line) || /^-A BRAMBLE-EXT-\w+ -j BRAMBLE-SVL-/.test(line)) continue;
      expect(line).toMatch(/-m comment --comment "[^"]*\b[ab]\/(one|two):http\b/);
    }
  });

  test("chain names fit iptables' 28-character limit", () => {
    const text = renderRules(state([service("some-long-namespace-name", "a-rather-long-service-name", "10.43.9.9", { type: "NodePort", externalTrafficPolicy: "Local", ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30002 }] })], [endpointSlice("some-long-namespace-name", "a-rather-long-service-name", [{ ip: "10.42.0.1" }])]));
    for (const m of text.matchAll(/^:(\S+)/gm)) expect(m[1]!.length).toBeLessThanOrEqual(28);
  });
});
