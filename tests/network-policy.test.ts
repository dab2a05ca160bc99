// NetworkPolicies enforced for real: a server with its embedded agent, Docker engine and pod
// network in a network namespace of its own, pods of the busybox test image (nc) talking over the pod
// bridge, and the agent's iptables rules in that namespace. Default deny blocks, an allow from a
// podSelector lets the right pod through and not another, a namespaceSelector admits a pod of a
// labelled namespace, the node itself always reaches its pods, a pod relabelled into a selector is let through, an egress policy blocks the client's own connections, and deleting the
// policies restores traffic.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { TEST_IMAGE } from "../src/agent/images/testimage";
import { missingCommand, requirements } from "../src/machinery/test-requirements";
import { netnsServerSkipReason, startNetnsServer, type NetnsServer } from "./helpers/netns-server";

const skip = netnsServerSkipReason ?? requirements("network policy tests", missingCommand("curl"));

setDefaultTimeout(60_000);

const pod = (namespace: string, name: string, labels: Record<string, string>, script: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { namespace, name, labels },
  spec: { terminationGracePeriodSeconds: 0, containers: [{ name: "main", image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sh", "-c", script], ports: [{ name: "http", containerPort: 8080 }] }] },
});
const policy = (name: string, spec: object) => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { namespace: "default", name }, spec });

describe.skipIf(!!skip)("NetworkPolicy on a real node", () => {
  let node: NetnsServer;
  let webIp = "";

  const apply = async (obj: object) => {
    const r = await node.kubectlWith(JSON.stringify(obj), "apply", "-f", "-");
    if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
  };
  /** Whether `from` (namespace/name) gets the web page; nc fails at once on a REJECT. */
  const reaches = async (from: string) => {
    const [ns, name] = from.split("/");
    const r = await node.kubectl("exec", "-n", ns!, name!, "--", "sh", "-c", `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${webIp} 8080`);
    return r.code === 0 && r.stdout.includes("hello");
  };
  /** Polls until `from` reaches web (or not): the agent applies changes asynchronously. */
  const until = async (from: string, want: boolean) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      if ((await reaches(from)) === want) return true;
      if (Date.now() > deadline) {
        const rules = (await node.inNs("iptables-save", "-t", "filter")).stdout;
        throw new Error(`${from} ${want ? "never reached" : "still reaches"} web\n${rules}\n${node.log()}`);
      }
      await Bun.sleep(200);
    }
  };

  beforeAll(async () => {
    node = await startNetnsServer("netpol");
    const ns = await node.kubectl("create", "namespace", "other");
    if (ns.code !== 0) throw new Error(ns.stderr);
    await node.kubectl("label", "namespace", "other", "team=friends");
    await apply(pod("default", "web", { app: "web" }, "mkdir -p /tmp/w && echo hello > /tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w"));
    for (const [ns, name, role] of [["default", "client", "client"], ["default", "intruder", "other"], ["other", "friend", "other"]] as const)
      await apply(pod(ns, name, { role }, "exec sleep 3600"));
    const deadline = Date.now() + 40_000;
    for (;;) {
      const r = await node.kubectl("get", "pods", "-A", "-o", "json");
      const items = r.code === 0 ? JSON.parse(r.stdout).items : [];
      const running = items.filter((p: any) => p.status?.phase === "Running" && p.status?.podIP);
      webIp = items.find((p: any) => p.metadata.name === "web")?.status?.podIP ?? "";
      if (running.length >= 4 && webIp) break;
      if (Date.now() > deadline) throw new Error(`pods did not start: ${r.stdout.slice(0, 2000)}\n${node.log()}`);
      await Bun.sleep(250);
    }
  }, 90_000);

  afterAll(async () => {
    await node?.destroy();
  });

  test("kubectl knows the kind: short name, table columns", async () => {
    // Without a policy every pod reaches web.
    expect(await until("default/intruder", true)).toBe(true);
    await apply(policy("deny-all", { podSelector: {} }));
    const r = await node.kubectl("get", "netpol");
    expect(r.stdout.split("\n")[0]).toMatch(/^NAME\s+POD-SELECTOR\s+AGE$/);
    expect(r.stdout).toMatch(/deny-all\s+<none>/);
    const bad = await node.kubectlWith(JSON.stringify(policy("bad", { ingress: [{ ports: [{ protocol: "ICMP" }] }] })), "apply", "-f", "-");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP"');
  });

  test("default deny blocks (not the node itself); an allow from a podSelector admits that pod only; a namespaceSelector admits a labelled namespace; relabelling a pod admits it", async () => {
    await apply(policy("deny-all", { podSelector: {} }));
    expect(await until("default/client", false)).toBe(true);
    // The node itself (kubelet probes) is never filtered.
    const fromNode = await node.inNs("curl", "-s", "-m", "5", `http://${webIp}:8080/`);
    expect(fromNode.stdout).toContain("hello");
    await apply(policy("allow-client", { podSelector: { matchLabels: { app: "web" } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: "client" } } }], ports: [{ port: "http" }] }] }));
    expect(await until("default/client", true)).toBe(true);
    expect(await reaches("default/intruder")).toBe(false);
    expect(await reaches("other/friend")).toBe(false);
    await apply(policy("allow-friends", { podSelector: { matchLabels: { app: "web" } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "friends" } } }] }] }));
    expect(await until("other/friend", true)).toBe(true);
    expect(await reaches("default/intruder")).toBe(false);
    // Rules follow pod labels.
    expect((await node.kubectl("label", "pod", "intruder", "role=client", "--overwrite")).code).toBe(0);
    expect(await until("default/intruder", true)).toBe(true);
  });

  test("an egress policy blocks the client's connections; deleting the policies restores traffic", async () => {
    await apply(policy("client-egress", { podSelector: { matchLabels: { role: "client" } }, policyTypes: ["Egress"] }));
    expect(await until("default/client", false)).toBe(true);
    const del = await node.kubectl("delete", "netpol", "--all");
    expect(del.code).toBe(0);
    expect(await until("default/client", true)).toBe(true);
    expect(await until("default/intruder", true)).toBe(true);
  });
});
