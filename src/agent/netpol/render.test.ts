import { describe, expect, test } from "bun:test";
import type { Namespace } from "../../api/resources/core/namespace";
import type { Pod } from "../../api/resources/core/pod";
import type { NetworkPolicy } from "../../api/resources/networking/networkpolicy";
import { NWPLCY, podFwChain } from "./chains";
import { peerPods, portMatch, renderPolicies, resolveNamedPort, restoreText } from "./render";
import { matches } from "./selector";

const pod = (ns: string, name: string, ip: string, labels: Record<string, string>, node = "n1", ports: { name: string; containerPort: number; protocol?: string }[] = []): Pod =>
  ({ metadata: { namespace: ns, name, labels }, spec: { nodeName: node, containers: [{ name: "c", image: "i", ports }] }, status: { podIP: ip, phase: "Running" } }) as Pod;
const ns = (name: string, labels: Record<string, string> = {}): Namespace => ({ metadata: { name, labels: { "kubernetes.io/metadata.name": name, ...labels } } }) as Namespace;
const policy = (namespace: string, name: string, spec: NetworkPolicy["spec"]): NetworkPolicy => ({ metadata: { namespace, name }, spec }) as NetworkPolicy;

const web = pod("default", "web", "10.42.0.10", { app: "web" }, "n1", [{ name: "http", containerPort: 8080 }]);
const client = pod("default", "client", "10.42.1.5", { role: "client" }, "n2");
const other = pod("default", "other", "10.42.1.6", { role: "other" }, "n2");
const prod = pod("prod", "api", "10.42.1.7", { role: "client" }, "n2", [{ name: "dns", containerPort: 53, protocol: "UDP" }]);
const pods = [web, client, other, prod];
const namespaces = [ns("default"), ns("prod", { env: "prod" })];
const render = (...policies: NetworkPolicy[]) => renderPolicies({ nodeName: "n1", policies, pods, namespaces });
/** Every rule line of every chain. */
const lines = (chains: Map<string, string[]>) => [...chains.values()].flat();

describe("selectors and ports", () => {
  test("label selectors: empty selects all, expressions as upstream's", () => {
    expect(matches({}, { a: "b" })).toBe(true);
    expect(matches(undefined, { a: "b" })).toBe(false);
    expect(matches({ matchExpressions: [{ key: "a", operator: "In", values: ["b", "c"] }] }, { a: "c" })).toBe(true);
    expect(matches({ matchExpressions: [{ key: "a", operator: "NotIn", values: ["b"] }] }, {})).toBe(true);
    expect(matches({ matchExpressions: [{ key: "a", operator: "DoesNotExist" }] }, { a: "x" })).toBe(false);
    expect(matches({ matchLabels: { a: "b" }, matchExpressions: [{ key: "c", operator: "Exists" }] }, { a: "b" })).toBe(false);
  });

  test("peers: podSelector in the policy's namespace, namespaceSelector, both together", () => {
    const labels = new Map(namespaces.map((n) => [n.metadata.name!, n.metadata.labels!]));
    const names = (ps: Pod[]) => ps.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
    expect(names(peerPods({ podSelector: { matchLabels: { role: "client" } } }, "default", pods, labels))).toEqual(["default/client"]);
    expect(names(peerPods({ namespaceSelector: { matchLabels: { env: "prod" } } }, "default", pods, labels))).toEqual(["prod/api"]);
    expect(names(peerPods({ namespaceSelector: {}, podSelector: { matchLabels: { role: "client" } } }, "default", pods, labels))).toEqual(["default/client", "prod/api"]);
    expect(names(peerPods({ ipBlock: { cidr: "10.0.0.0/8" } }, "default", pods, labels))).toEqual([]);
  });

  test("ports: numbers, ranges, protocols, named ports resolved on the pod", () => {
    expect(portMatch({ protocol: "TCP", port: 80 })).toBe("-p tcp -m tcp --dport 80");
    expect(portMatch({ protocol: "UDP", port: 5000, endPort: 5010 })).toBe("-p udp -m udp --dport 5000:5010");
    expect(portMatch({ protocol: "SCTP" })).toBe("-p sctp");
    expect(portMatch({ port: "http" }, web)).toBe("-p tcp -m tcp --dport 8080");
    expect(portMatch({ port: "http" }, client)).toBeUndefined();
    expect(resolveNamedPort(prod, "dns", "UDP")).toBe(53);
    expect(resolveNamedPort(prod, "dns", "TCP")).toBeUndefined();
  });
});

describe("rendering", () => {
  test("no policy: only the replies rule, no pod is isolated", () => {
    const chains = render();
    expect([...chains.keys()]).toEqual([NWPLCY]);
    expect(chains.get(NWPLCY)).toEqual([`-A ${NWPLCY} -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "replies to allowed connections" -j RETURN`]);
  });

  test("default deny: a selected local pod gets a firewall that rejects everything; remote pods get none", () => {
    const chains = render(policy("default", "deny", { podSelector: {}, policyTypes: ["Ingress"] }));
    const fw = podFwChain("default/web", "ingress");
    expect(chains.get(NWPLCY)!.at(-1)).toBe(`-A ${NWPLCY} -d 10.42.0.10/32 -m comment --comment "default/web ingress" -j ${fw}`);
    expect(chains.get(fw)).toEqual([
      `-A ${fw} -j MARK --set-xmark 0x0/0x10000`,
      `-A ${fw} -m mark --mark 0x10000/0x10000 -j RETURN`,
      `-A ${fw} -m comment --comment "default/web ingress not allowed by any policy" -j REJECT`,
    ]);
    // client and other run on n2: their firewalls are n2's business.
    expect(chains.has(podFwChain("default/client", "ingress"))).toBe(false);
  });

  test("allow from a podSelector on a named port: only that pod's IP, the port resolved on the target", () => {
    const chains = render(policy("default", "allow", { podSelector: { matchLabels: { app: "web" } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: "client" } } }], ports: [{ protocol: "TCP", port: "http" }] }] }));
    const all = lines(chains);
    const fwLine = all.find((l) => l.includes('"default/allow ingress rule 0"') && l.startsWith(`-A ${podFwChain("default/web", "ingress")}`))!;
    expect(fwLine).toContain("-p tcp -m tcp --dport 8080");
    const peerChain = fwLine.split(" -j ")[1]!;
    expect(chains.get(peerChain)).toEqual([`-A ${peerChain} -s 10.42.1.5/32 -m comment --comment "default/allow ingress rule 0" -j MARK --set-xmark 0x10000/0x10000`]);
    expect(all.some((l) => l.includes("10.42.1.6"))).toBe(false);
  });

  test("egress: ports per peer (named ports resolved on the destination), ipBlock with except in a chain of its own", () => {
    const chains = render(
      policy("default", "out", {
        podSelector: { matchLabels: { app: "web" } },
        egress: [
          { to: [{ namespaceSelector: { matchLabels: { env: "prod" } } }], ports: [{ protocol: "UDP", port: "dns" }] },
          { to: [{ ipBlock: { cidr: "192.168.0.0/16", except: ["192.168.1.0/24"] } }] },
        ],
      }),
    );
    const fw = podFwChain("default/web", "egress");
    expect(chains.get(NWPLCY)).toContain(`-A ${NWPLCY} -s 10.42.0.10/32 -m comment --comment "default/web egress" -j ${fw}`);
    // policyTypes defaulted: Ingress too, with no ingress rules = deny all ingress.
    expect(chains.has(podFwChain("default/web", "ingress"))).toBe(true);
    const all = lines(chains);
    expect(all).toContainEqual(expect.stringMatching(/-d 10\.42\.1\.7\/32 -p udp -m udp --dport 53 .* -j MARK/));
    const except = all.find((l) => l.includes("-d 192.168.1.0/24"))!;
    expect(except).toEndWith("-j RETURN");
    const sub = except.split(" ")[1]!;
    expect(chains.get(sub)!.at(-1)).toMatch(/-d 192\.168\.0\.0\/16 .* -j MARK/);
  });

  test("a rule without peers allows every source on its ports; an empty rule allows everything", () => {
    const fw = podFwChain("default/web", "ingress");
    const ports = render(policy("default", "p", { podSelector: {}, ingress: [{ ports: [{ protocol: "TCP", port: 80 }, { protocol: "UDP", port: 81 }] }] })).get(fw)!;
    expect(ports.filter((l) => l.endsWith("-j MARK --set-xmark 0x10000/0x10000"))).toEqual([
      `-A ${fw} -p tcp -m tcp --dport 80 -m comment --comment "default/p ingress rule 0" -j MARK --set-xmark 0x10000/0x10000`,
      `-A ${fw} -p udp -m udp --dport 81 -m comment --comment "default/p ingress rule 0" -j MARK --set-xmark 0x10000/0x10000`,
    ]);
    const open = render(policy("default", "p", { podSelector: {}, ingress: [{}] })).get(fw)!;
    expect(open[1]).toBe(`-A ${fw} -m comment --comment "default/p ingress rule 0" -j MARK --set-xmark 0x10000/0x10000`);
  });

  test("pods without an IP, host-network pods and finished pods are neither selected nor peers", () => {
    const hostNet = { ...web, spec: { ...web.spec, hostNetwork: true } } as Pod;
    const chains = renderPolicies({ nodeName: "n1", policies: [policy("default", "deny", { podSelector: {} })], pods: [hostNet], namespaces });
    expect([...chains.keys()]).toEqual([NWPLCY]);
  });

  test("IPv6 blocks match nothing (the rules are IPv4); a rule left with no peer allows nothing", () => {
    const chains = render(policy("default", "v6", { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: "2001:db8::/64" } }] }] }));
    expect(lines(chains).some((l) => l.includes("2001:db8"))).toBe(false);
    expect(lines(chains).some((l) => l.endsWith("-j MARK --set-xmark 0x10000/0x10000"))).toBe(false);
  });

  test("restore text declares wanted and stale chains, then deletes the stale ones", () => {
    const text = restoreText(new Map([[NWPLCY, [`-A ${NWPLCY} -j RETURN`]]]), ["BRAMBLE-POD-FW-AAAAAAAAAAAAA"]);
    expect(text.split("\n")).toEqual(["*filter", `:${NWPLCY} - [0:0]`, ":BRAMBLE-POD-FW-AAAAAAAAAAAAA - [0:0]", `-A ${NWPLCY} -j RETURN`, "-X BRAMBLE-POD-FW-AAAAAAAAAAAAA", "COMMIT", ""]);
  });
});
