// Two clusters on one Docker engine, as when a second `bramble server` runs beside the installed
// one: two real server processes whose embedded agents both name their node after the hostname.
// Each runs a pod; neither kubelet takes the other's containers for orphans, over several relists
// (each proven by the kubelet removing an orphan of its own cluster planted for it), and
// `bramble reset --force` of one data dir removes that cluster's containers and leaves the other's
// running.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { caCertHashOfPem } from "../src/agent/join/pin";
import { TEST_IMAGE, ensureTestImage } from "../src/agent/images/testimage";
import { NODE_LABEL } from "../src/agent/kubelet/names";
import { dockerForTests, removeImageIfUnused } from "../src/agent/runtime/docker/testing";
import { LABELS } from "../src/agent/runtime/runtime";
import { testEnv } from "./helpers/env";
import { eventually } from "./helpers/eventually";
import { ROOT, startTestServer, type TestServer } from "./helpers/server";

const docker = await dockerForTests("two clusters on one Docker engine");
const NS = `two-${Date.now().toString(36)}`;

interface Cluster {
  server: TestServer;
  /** io.bramble.cluster on its containers: the hash of its CA's key. */
  id: string;
  node: string;
}
const clusters: Cluster[] = [];

const running = (c: Cluster) => docker!.listContainers({ [LABELS.cluster]: c.id, [LABELS.podNamespace]: NS }).then((l) => l.filter((x) => x.state === "running"));
const ids = async (c: Cluster) => (await running(c)).map((x) => x.id).sort();

async function podRunning(c: Cluster, name: string) {
  return eventually(`pod ${name} Running on ${c.server.url}`, async () => {
    const r = await c.server.kubectl("-n", NS, "get", "pod", name, "-o", "json");
    if (r.code !== 0) return false;
    const pod = JSON.parse(r.stdout);
    return pod.status?.phase === "Running" && pod.status.containerStatuses?.[0]?.ready === true && pod;
  }, { timeoutMs: 60_000, context: () => c.server.log.slice(-4000) });
}

/** A container labelled as a pod of `c`'s node that its API does not know: its kubelet's orphan. */
async function plantOrphan(c: Cluster): Promise<string> {
  const uid = crypto.randomUUID();
  const id = await docker!.createContainer({
    name: `k8s_c_orphan_${NS}_${uid}_0`,
    image: TEST_IMAGE,
    cmd: ["sleep", "3600"],
    labels: { [LABELS.managed]: "true", [LABELS.cluster]: c.id, [NODE_LABEL]: c.node, [LABELS.podUid]: uid, [LABELS.podName]: "orphan", [LABELS.podNamespace]: NS, [LABELS.container]: "c", [LABELS.kind]: "app", [LABELS.restartCount]: "0" },
  });
  await docker!.startContainer(id);
  return id;
}

const gone = async (id: string) => {
  try {
    await docker!.inspectContainer(id);
    return false;
  } catch {
    return true;
  }
};

describe.skipIf(!docker)("two clusters on one Docker engine, both nodes named after the hostname", () => {
  beforeAll(async () => {
    await ensureTestImage(docker!);
    const servers = await Promise.all([0, 1].map(() => startTestServer({ agent: true, defaultNodeName: true })));
    for (const server of servers) {
      const id = caCertHashOfPem(readFileSync(join(server.dataDir, "server", "tls", "server-ca.crt"), "utf8"));
      const node = await eventually("the embedded node Ready", async () => {
        const r = await server.kubectl("get", "nodes", "-o", "json");
        const ready = JSON.parse(r.stdout || "{}").items?.find((n: any) => n.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True"));
        return ready?.metadata?.name as string | undefined;
      }, { timeoutMs: 60_000, context: () => server.log.slice(-4000) });
      clusters.push({ server, id, node });
    }
    for (const c of clusters) {
      expect((await c.server.kubectl("create", "namespace", NS)).code).toBe(0);
      const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: NS }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sleep", "3600"] }] } };
      const r = await c.server.kubectlWith({ stdin: JSON.stringify(pod) }, "create", "-f", "-");
      expect(r.stderr).toBe("");
    }
    for (const c of clusters) await podRunning(c, "web");
  }, 180_000);

  afterAll(async () => {
    for (const c of clusters) await c.server.cleanup();
    if (!docker) return;
    // The servers are gone, so their kubelets cannot clean up: this file's containers go here.
    for (const c of await docker.listContainers({ [LABELS.podNamespace]: NS })) await docker.removeContainer(c.id);
    await removeImageIfUnused(docker, TEST_IMAGE);
  });

  test("the two nodes have the same name and the clusters different identities", () => {
    const [a, b] = clusters;
    expect(a!.node).toBe(b!.node);
    expect(a!.id).not.toBe(b!.id);
    expect(a!.id).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test("over several relists each kubelet removes its own orphans and never the other cluster's pod", async () => {
    const before = await Promise.all(clusters.map(ids));
    for (const list of before) expect(list).toHaveLength(2); // pause + app
    for (let round = 1; round <= 3; round++) {
      const orphans = await Promise.all(clusters.map(plantOrphan));
      // A relist of each kubelet has run once its orphan is gone: it saw the other's containers too.
      await eventually(`round ${round}: both orphans removed by their own kubelets`, async () => (await Promise.all(orphans.map(gone))).every(Boolean), { timeoutMs: 30_000 });
      expect(await Promise.all(clusters.map(ids))).toEqual(before);
    }
    for (const c of clusters) {
      const pod = await podRunning(c, "web");
      expect(pod.status.containerStatuses[0].restartCount).toBe(0);
    }
  });

  test("bramble reset --force of one data dir removes that cluster's containers and leaves the other's running", async () => {
    const [a, b] = clusters;
    const bBefore = await ids(b!);
    expect(await a!.server.stop()).toBe(0);
    // Containers outlive a stopped server (they are adopted when it comes back): reset removes them.
    expect(await ids(a!)).toHaveLength(2);
    const p = Bun.spawn([process.execPath, join(ROOT, "src", "main.ts"), "reset", "--force", "--data-dir", a!.server.dataDir], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: testEnv() });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(out).toContain("containers: removed 2, networks: removed 0");
    // b's containers are named as left alone (with those of any other cluster on this engine).
    expect(out).toMatch(new RegExp(`left \\d+ containers and \\d+ networks of other clusters [^;]*${b!.id.slice(0, 19)}`));
    expect(await docker!.listContainers({ [LABELS.cluster]: a!.id })).toEqual([]);
    expect(await ids(b!)).toEqual(bBefore);
    // And b's kubelet keeps going: its pod is untouched and its next orphan is still its own to remove.
    const orphan = await plantOrphan(b!);
    await eventually("b's orphan removed", () => gone(orphan), { timeoutMs: 30_000 });
    expect(await ids(b!)).toEqual(bBefore);
    expect((await podRunning(b!, "web")).status.containerStatuses[0].restartCount).toBe(0);
  });
});
