// The kubelet's side of node pressure, against the fake runtime: evicting a running pod, and
// refusing a new one while the node is under pressure.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pods as podsDef, type Pod } from "../../api/resources/core/pod";
import { eventually, startHttpTestApi, type HttpTestApi } from "../node/testing";
import { FakeRuntime } from "../runtime/fake/fake";
import { LABELS } from "../runtime/runtime";
import { startKubelet, type Kubelet } from "./kubelet";
import { podDir } from "./volumes";

let api: HttpTestApi;
let rt: FakeRuntime;
let kubelet: Kubelet;
let dataDir: string;
const podApi = () => api.client.resource<Pod>(podsDef);
const until = (name: string, check: (p: Pod) => boolean) =>
  eventually(async () => {
    const p = await podApi().get("default", name);
    return check(p) && p;
  }, 5000, name);
const create = (name: string) =>
  podApi().create("default", { metadata: { name }, spec: { nodeName: "n1", restartPolicy: "Always", containers: [{ name: "app", image: "busybox:1", command: ["sleep", "1000"] }], volumes: [{ name: "scratch", emptyDir: {} }] } as NonNullable<Pod["spec"]> });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "bramble-kubelet-eviction-"));
  api = await startHttpTestApi();
  rt = new FakeRuntime(["busybox:1"]);
  kubelet = await startKubelet(api.client, rt, {
    nodeName: "n1",
    clusterId: `sha256:${"2".repeat(64)}`,
    dataDir,
    apiServerHost: "10.43.0.1",
    apiServerPort: 443,
    caCertPem: "CA",
    nodeIP: "192.168.1.10",
    relistIntervalMs: 50,
    admitPod: (pod) => (pod.metadata.name === "refused" ? { reason: "Evicted", message: "Pod was rejected: The node had condition: [DiskPressure]. " } : undefined),
  });
});

afterAll(async () => {
  await kubelet.stop();
  await api.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test("an evicted pod is killed, its volumes freed, and it stays Failed/Evicted with a DisruptionTarget condition; it never restarts", async () => {
  await create("victim");
  const running = await until("victim", (p) => p.status?.phase === "Running");
  const uid = running.metadata.uid!;
  expect(existsSync(podDir(dataDir, uid))).toBe(true);
  expect(kubelet.activePods().map((p) => p.metadata.name)).toContain("victim");
  expect((await kubelet.podContainers(uid)).length).toBe(2);

  const message = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 1Ki. ";
  expect(await kubelet.evict(running, message)).toBe(true);
  const evicted = await podApi().get("default", "victim");
  expect(evicted.status).toMatchObject({ phase: "Failed", reason: "Evicted", message });
  expect(evicted.status!.conditions!.find((c) => c.type === "DisruptionTarget")).toMatchObject({ status: "True", reason: "TerminationByKubelet", message });
  expect(evicted.status!.containerStatuses![0]!.state?.terminated).toBeDefined();
  expect((await rt.listContainers({ [LABELS.podUid]: uid })).filter((c) => c.state === "running")).toEqual([]);
  expect(existsSync(podDir(dataDir, uid))).toBe(false);
  expect(kubelet.activePods().map((p) => p.metadata.name)).not.toContain("victim");
  // restartPolicy Always does not bring it back.
  await Bun.sleep(300);
  expect((await rt.listContainers({ [LABELS.podUid]: uid })).filter((c) => c.state === "running")).toEqual([]);
  expect((await podApi().get("default", "victim")).status?.phase).toBe("Failed");
});

test("a new pod the node does not admit ends Failed with the rejection, and nothing is started for it", async () => {
  const pod = await create("refused");
  const p = await until("refused", (x) => x.status?.phase === "Failed");
  expect(p.status).toMatchObject({ reason: "Evicted", message: "Pod was rejected: The node had condition: [DiskPressure]. " });
  expect(await rt.listContainers({ [LABELS.podUid]: pod.metadata.uid! })).toEqual([]);
});
