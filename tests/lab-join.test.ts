// Joining nodes in the multi-node lab: a server and two agents, each in its own network namespace
// with its own Docker engine, the agents joined with the printed join command. Pods of a
// Deployment land on all three nodes and run in their own node's engine; logs and exec reach a
// pod on an agent node through the API server; an agent restart adopts its containers; a bad CA
// pin is refused.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { TEST_IMAGE } from "../src/agent/images/testimage";
import { LABELS } from "../src/agent/runtime/runtime";
import { labSkipReason, useLab } from "./helpers/lab";
import { eventually as poll } from "./helpers/eventually";

setDefaultTimeout(120_000);
const lab = useLab();
const NS = "lab-join";

const eventually = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 60_000) => poll(what, f, { timeoutMs, intervalMs: 250, context: () => lab().logTails(20) });

const kc = (...args: string[]) => lab().kubectl("-n", NS, ...args);
const json = async (...args: string[]) => {
  const r = await kc(...args, "-o", "json");
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};

interface PodView {
  name: string;
  node: string;
  phase: string;
  hostIP?: string;
  containerIDs: string[];
  restarts: number[];
}
const podsOf = async (app: string): Promise<PodView[]> =>
  (await json("get", "pods", "-l", `app=${app}`)).items.map((p: any) => ({
    name: p.metadata.name,
    node: p.spec.nodeName,
    phase: p.status?.phase,
    hostIP: p.status?.hostIP,
    containerIDs: (p.status?.containerStatuses ?? []).map((c: any) => c.containerID),
    restarts: (p.status?.containerStatuses ?? []).map((c: any) => c.restartCount),
  }));

/** Container IDs (full) of one pod in one node's engine, as `docker ps` lists them. */
async function containersInEngine(node: string, pod: string): Promise<string[]> {
  const r = await lab().docker(node, "ps", "--no-trunc", "--filter", `label=${LABELS.podNamespace}=${NS}`, "--filter", `label=${LABELS.podName}=${pod}`, "--format", "{{.ID}}");
  if (r.code !== 0) throw new Error(`docker ps on ${node}: ${r.stderr}`);
  return r.stdout.split("\n").filter(Boolean).sort();
}

// One pod per node: required anti-affinity on the hostname spreads 3 replicas over 3 nodes.
const spreadDeployment = (name: string, replicas: number) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: NS },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        terminationGracePeriodSeconds: 1,
        affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app: name } } }] } },
        containers: [
          {
            name: "main",
            image: TEST_IMAGE,
            imagePullPolicy: "Never",
            // PID 1 ignores SIGTERM unless it traps it.
            command: ["sh", "-c", "echo started on $NODE_NAME; trap 'exit 0' TERM; sleep 100000 & wait"],
            env: [{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
          },
        ],
      },
    },
  },
});

describe.skipIf(!!labSkipReason)("joining nodes in the lab", () => {
  beforeAll(async () => {
    const r = await lab().kubectl("create", "namespace", NS);
    if (r.code !== 0) throw new Error(`create namespace ${NS}: ${r.stderr}`);
  });

  test("two agents joined with the printed join command, each from its own namespace and engine", async () => {
    const l = lab();
    expect(l.joinCommand.join(" ")).toMatch(/^bramble agent --server https:\/\/172\.31\.250\.10:6443 --token [a-z0-9]{6}\.[a-z0-9]{16} --ca-cert-hash sha256:[0-9a-f]{64}$/);
    const nodes = (await l.kubectl("get", "nodes", "-o", "json")).stdout;
    const items = JSON.parse(nodes).items as any[];
    expect(items.map((n) => n.metadata.name).sort()).toEqual(["lab-n0", "lab-n1", "lab-n2"]);
    for (const node of l.nodes) {
      const n = items.find((x) => x.metadata.name === node.name);
      expect(n.status.addresses).toContainEqual({ type: "InternalIP", address: node.ip });
      expect(n.status.nodeInfo.containerRuntimeVersion).toMatch(/^docker:\/\/\d/);
      expect(n.status.conditions.find((c: any) => c.type === "Ready").status).toBe("True");
      // Its bramble process lives in the node's network namespace, not the host's.
      const pid = Number(readFileSync(node.paths.bramblePid, "utf8"));
      expect(statSync(`/proc/${pid}/ns/net`).ino).toBe(statSync(`/var/run/netns/${node.ns}`).ino);
      expect(statSync(`/proc/${pid}/ns/net`).ino).not.toBe(statSync("/proc/self/ns/net").ino);
    }
    expect(items.find((n) => n.metadata.name === "lab-n0").metadata.labels).toHaveProperty(["node-role.kubernetes.io/control-plane"]);
    for (const agent of l.agents) {
      expect(items.find((n) => n.metadata.name === agent.name).metadata.labels).not.toHaveProperty(["node-role.kubernetes.io/control-plane"]);
      // Joined: the node credential it got for the token is kept in its own data dir.
      expect(existsSync(join(agent.paths.brambleData, "agent", "kubelet.kubeconfig"))).toBe(true);
      expect(readFileSync(agent.paths.brambleLog, "utf8")).toContain("joined the cluster");
    }
    // Each engine is its own: its own data root, and its docker0 on the node's own range.
    for (const n of l.nodes) {
      expect((await l.docker(n.name, "info", "--format", "{{.DockerRootDir}}")).stdout.trim()).toBe(n.paths.dockerData);
      const docker0 = (await l.inNode(n.name, ["ip", "-4", "-o", "addr", "show", "docker0"])).stdout;
      expect(docker0).toContain(` ${n.bip} `);
    }
  });

  test("a Deployment's pods spread over the nodes run in their own node's engine", async () => {
    const l = lab();
    const applied = await l.kubectlWith({ stdin: JSON.stringify(spreadDeployment("spread", 3)) }, "apply", "-f", "-");
    expect(applied.code).toBe(0);
    const pods = await eventually("3 spread pods Running", async () => {
      const ps = await podsOf("spread");
      return ps.length === 3 && ps.every((p) => p.phase === "Running" && p.containerIDs.length === 1) && ps;
    });
    expect(pods.map((p) => p.node).sort()).toEqual(["lab-n0", "lab-n1", "lab-n2"]);
    for (const p of pods) {
      expect(p.hostIP).toBe(l.node(p.node).ip);
      const mine = await containersInEngine(p.node, p.name);
      // The app container and the pause container, in this node's engine and no other.
      expect(mine).toHaveLength(2);
      expect(mine).toContain(p.containerIDs[0]!.replace(/^docker:\/\//, ""));
      for (const other of l.nodes.filter((n) => n.name !== p.node)) expect(await containersInEngine(other.name, p.name)).toEqual([]);
    }
  });

  test("kubectl logs and exec reach a pod on an agent node", async () => {
    const pod = (await podsOf("spread")).find((p) => p.node === "lab-n2")!;
    expect(pod).toBeDefined();
    const logs = await eventually("the pod's log", async () => {
      const r = await kc("logs", pod.name);
      return r.code === 0 && r.stdout.includes("started") && r.stdout;
    });
    expect(logs).toBe("started on lab-n2\n");
    const exec = await kc("exec", pod.name, "--", "sh", "-c", "echo from-exec $NODE_NAME; cat /www/index.html; exit 3");
    expect(exec.stdout).toBe("from-exec lab-n2\nhello from bramble\n");
    expect(exec.code).toBe(3);
    const withStdin = await lab().kubectlWith({ stdin: "piped in\n" }, "-n", NS, "exec", "-i", pod.name, "--", "cat");
    expect(withStdin.code).toBe(0);
    expect(withStdin.stdout).toBe("piped in\n");
  });

  test("a restarted agent adopts its running containers: same IDs, no restarts, no duplicates", async () => {
    const l = lab();
    const before = (await podsOf("spread")).find((p) => p.node === "lab-n1")!;
    const engineBefore = await containersInEngine("lab-n1", before.name);
    expect(engineBefore).toHaveLength(2);
    await l.stopAgent("lab-n1");
    expect(l.running("lab-n1")).toBe(false);
    // Pods keep running while their agent is away.
    expect(await containersInEngine("lab-n1", before.name)).toEqual(engineBefore);
    l.startAgent("lab-n1");
    // A pod created for lab-n1 after the restart running proves the new kubelet is at work (and
    // has relisted the engine, which it does first).
    const probe = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "after-restart", namespace: NS },
      spec: { nodeName: "lab-n1", terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sleep", "100000"] }] },
    };
    expect((await l.kubectlWith({ stdin: JSON.stringify(probe) }, "apply", "-f", "-")).code).toBe(0);
    await eventually("after-restart Running on lab-n1", async () => (await json("get", "pod", "after-restart")).status?.phase === "Running");
    const log = readFileSync(l.node("lab-n1").paths.brambleLog, "utf8");
    expect(log.match(/kubelet started/g)?.length).toBe(2);
    const after = (await podsOf("spread")).find((p) => p.name === before.name)!;
    expect(after.containerIDs).toEqual(before.containerIDs);
    expect(after.restarts).toEqual([0]);
    expect(after.phase).toBe("Running");
    expect(await containersInEngine("lab-n1", before.name)).toEqual(engineBefore);
    // Exactly one running app container per spread pod across the whole lab: nothing doubled.
    const all = (await Promise.all(l.nodes.map((n) => l.docker(n.name, "ps", "--filter", `label=${LABELS.podNamespace}=${NS}`, "--filter", `label=${LABELS.container}=main`, "--format", "{{.ID}}")))).flatMap((r) => r.stdout.split("\n").filter(Boolean));
    expect(all).toHaveLength(3);
  });

  test("while the server is down, agents' pods keep running; the agents reconnect by themselves", async () => {
    const l = lab();
    const before = await podsOf("spread");
    const engines = Object.fromEntries(await Promise.all(before.map(async (p) => [p.name, await containersInEngine(p.node, p.name)] as const)));
    await l.stopServer();
    expect((await l.kubectl("get", "nodes")).code).not.toBe(0);
    for (const agent of l.agents) {
      const p = before.find((x) => x.node === agent.name)!;
      expect(await containersInEngine(agent.name, p.name)).toEqual(engines[p.name]!);
      expect(l.running(agent.name)).toBe(true);
    }
    await l.startServer();
    // A pod created for each agent node after the restart runs: its agent is watching again.
    for (const agent of l.agents) {
      const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: `after-server-${agent.name}`, namespace: NS }, spec: { nodeName: agent.name, terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sleep", "100000"] }] } };
      expect((await l.kubectlWith({ stdin: JSON.stringify(pod) }, "apply", "-f", "-")).code).toBe(0);
    }
    for (const agent of l.agents) await eventually(`after-server-${agent.name} Running`, async () => (await json("get", "pod", `after-server-${agent.name}`)).status?.phase === "Running", 90_000);
    await l.waitReady();
    const after = await podsOf("spread");
    for (const p of before) {
      const now = after.find((x) => x.name === p.name)!;
      expect(now.containerIDs).toEqual(p.containerIDs);
      expect(now.restarts).toEqual(p.restarts);
    }
  });

  test("with its Docker engine down a node is NotReady naming the socket, and Ready again once it is back", async () => {
    const l = lab();
    const n2 = l.node("lab-n2");
    const before = (await podsOf("spread")).find((p) => p.node === "lab-n2")!;
    await l.stopEngine("lab-n2");
    const ready = await eventually("lab-n2 NotReady", async () => {
      const node = await json("get", "node", "lab-n2");
      const c = node.status.conditions.find((x: any) => x.type === "Ready");
      return c?.status === "False" && c;
    });
    expect(ready.message).toContain(`unix://${n2.dockerSocket}`);
    await l.startEngine("lab-n2");
    await l.waitReady();
    // Its pod runs again: the engine stopped its containers on the way down, the kubelet starts
    // new ones (a new container ID in the status, pause and app running in the engine).
    const [pod, running] = await eventually("lab-n2's spread pod running in a new container", async () => {
      const p = (await podsOf("spread")).find((x) => x.name === before.name);
      if (p?.phase !== "Running" || p.containerIDs.length !== 1 || p.containerIDs[0] === before.containerIDs[0]) return false;
      const ids = await containersInEngine("lab-n2", p.name);
      return ids.length === 2 && ids.includes(p.containerIDs[0]!.replace(/^docker:\/\//, "")) && ([p, ids] as const);
    });
    expect(running).toContain(pod.containerIDs[0]!.replace(/^docker:\/\//, ""));
  });

  test("an agent with a wrong --ca-cert-hash is refused with a clear message", async () => {
    const l = lab();
    const args = l.joinCommand.slice(1);
    args[args.indexOf("--ca-cert-hash") + 1] = `sha256:${"0".repeat(64)}`;
    const dataDir = join(l.root, "bad-pin");
    const r = await l.brambleIn("lab-n2", ...args, "--node-name", "lab-bad-pin", "--data-dir", dataDir, "--docker-socket", l.node("lab-n2").dockerSocket);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^bramble: the CA of https:\/\/172\.31\.250\.10:6443 does not match --ca-cert-hash/);
    expect(existsSync(join(dataDir, "agent", "kubelet.kubeconfig"))).toBe(false);
    expect((await l.kubectl("get", "node", "lab-bad-pin")).code).not.toBe(0);
  });
});
