// The kubelet against the fake runtime and the in-process API server over HTTP.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pods as podsDef, type Pod } from "../../api/resources/core/pod";
import { eventually, startHttpTestApi, type HttpTestApi } from "../node/testing";
import { FakeRuntime } from "../runtime/fake/fake";
import { LABELS } from "../runtime/runtime";
import { startKubelet, type Kubelet } from "./kubelet";
import { containerLabels, containerName, NODE_LABEL, PAUSE_NAME, specHash } from "./names";

let api: HttpTestApi;
let rt: FakeRuntime;
let kubelet: Kubelet;
let dataDir: string;
const CLUSTER = `sha256:${"1".repeat(64)}`;
const opts = () => ({ nodeName: "n1", clusterId: CLUSTER, dataDir, apiServerHost: "10.43.0.1", apiServerPort: 443, caCertPem: "CA", nodeIP: "192.168.1.10", relistIntervalMs: 50 });
const podApi = () => api.client.resource<Pod>(podsDef);
const get = (name: string) => podApi().get("default", name);
const until = (name: string, check: (p: Pod) => boolean, what = name, ms = 5000) =>
  eventually(async () => {
    const p = await get(name);
    return check(p) && p;
  }, ms, what);
const create = (name: string, spec: Partial<NonNullable<Pod["spec"]>>) =>
  podApi().create("default", { metadata: { name }, spec: { nodeName: "n1", containers: [], ...spec } as NonNullable<Pod["spec"]> });
const gone = async (name: string) => {
  try {
    await get(name);
    return false;
  } catch (e) {
    return (e as { code?: number }).code === 404;
  }
};

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "bramble-kubelet-unit-"));
  api = await startHttpTestApi();
  rt = new FakeRuntime(["busybox:1"]);
  kubelet = await startKubelet(api.client, rt, opts());
});

afterAll(async () => {
  await kubelet.stop();
  await api.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test("init containers run in order before the app; the pause container holds the network", async () => {
  await create("init", {
    initContainers: [
      { name: "one", image: "busybox:1", command: ["sh", "-c", "exit 0"] },
      { name: "two", image: "busybox:1", command: ["true"] },
    ],
    containers: [{ name: "app", image: "busybox:1", command: ["sleep", "1000"] }],
  });
  const p = await until("init", (p) => p.status?.phase === "Running");
  expect(p.status!.initContainerStatuses!.map((s) => s.state?.terminated?.reason)).toEqual(["Completed", "Completed"]);
  expect(p.status!.conditions!.find((c) => c.type === "Initialized")?.status).toBe("True");
  const order = rt.calls.filter((c) => c.startsWith("start ") && c.includes("_init_")).map((c) => c.split("_")[1]);
  expect(order).toEqual(["POD", "one", "two", "app"]);
  const app = [...rt.containers.values()].find((c) => c.info.labels[LABELS.container] === "app")!;
  const pause = [...rt.containers.values()].find((c) => c.info.labels[LABELS.kind] === "pause" && c.info.labels[LABELS.podName] === "init")!;
  expect(app.spec.networkMode).toBe(`container:${pause.info.id}`);
  expect(p.status!.podIP).toBe(pause.info.ips.bridge);
  expect(p.status!.hostIP).toBe("192.168.1.10");
});

test("restartPolicy Never: a failed container fails the pod; OnFailure restarts it", async () => {
  await create("never", { restartPolicy: "Never", containers: [{ name: "app", image: "busybox:1", command: ["false"] }] });
  const p = await until("never", (p) => p.status?.phase === "Failed");
  expect(p.status!.containerStatuses![0].state?.terminated).toMatchObject({ exitCode: 1, reason: "Error" });
  await create("onfail", { restartPolicy: "OnFailure", containers: [{ name: "app", image: "busybox:1", command: ["false"] }] });
  const q = await until("onfail", (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CrashLoopBackOff");
  expect(q.status!.containerStatuses![0].restartCount).toBe(1);
  await create("done", { restartPolicy: "OnFailure", containers: [{ name: "app", image: "busybox:1", command: ["true"] }] });
  await until("done", (p) => p.status?.phase === "Succeeded");
});

test("missing images: ErrImagePull then ImagePullBackOff; Never policy says so", async () => {
  rt.pullFailures.set("nope/missing:1", "manifest unknown");
  await create("pullfail", { containers: [{ name: "app", image: "nope/missing:1" }] });
  const p = await until("pullfail", (p) => ["ErrImagePull", "ImagePullBackOff"].includes(p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? ""));
  expect(p.status!.phase).toBe("Pending");
  expect(p.status!.containerStatuses![0].state!.waiting!.message).toContain("manifest unknown");
  await create("neverpull", { containers: [{ name: "app", image: "absent:2", imagePullPolicy: "Never" }] });
  await until("neverpull", (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === "ErrImageNeverPull");
});

test("a failing liveness probe kills the container and it restarts", async () => {
  rt.execHandler = (c, cmd) => (cmd[0] === "live" ? { exitCode: c.labels[LABELS.restartCount] === "0" ? 1 : 0, stdout: "", stderr: "" } : undefined);
  await create("live", { containers: [{ name: "app", image: "busybox:1", command: ["sleep", "1000"], livenessProbe: { exec: { command: ["live"] }, periodSeconds: 1, failureThreshold: 1 } }] });
  const p = await until("live", (p) => p.status?.containerStatuses?.[0]?.restartCount === 1 && !!p.status.containerStatuses[0].state?.running, "a restart", 4000);
  expect(p.status!.containerStatuses![0].lastState?.terminated?.exitCode).toBe(143);
});

test("graceful delete runs preStop, stops, removes containers and deletes the pod", async () => {
  const execs: string[][] = [];
  rt.execHandler = (_, cmd) => {
    execs.push(cmd);
    return undefined;
  };
  await create("bye", { containers: [{ name: "app", image: "busybox:1", command: ["sleep", "1000"], lifecycle: { preStop: { exec: { command: ["echo", "bye"] } } } }] });
  const p = await until("bye", (p) => p.status?.phase === "Running");
  await podApi().delete("default", "bye");
  await eventually(() => gone("bye"), 5000, "bye deleted");
  expect(execs).toContainEqual(["echo", "bye"]);
  expect(await rt.listContainers({ [LABELS.podUid]: p.metadata.uid! })).toEqual([]);
});

test("restart adopts running containers; orphans and pod-less bramble containers are removed", async () => {
  await create("steady", { containers: [{ name: "app", image: "busybox:1", command: ["sleep", "1000"] }] });
  const steady = await until("steady", (p) => p.status?.phase === "Running");
  // Only a steady pod's containers: others (crash loops, terminal pods) change state on their own.
  const before = (await rt.listContainers({ [NODE_LABEL]: "n1", [LABELS.podUid]: steady.metadata.uid! })).filter((c) => c.state === "running").map((c) => c.id).sort();
  expect(before).toHaveLength(2);
  await kubelet.stop();
  // While it is down: a pod vanishes for good, and a stray bramble container appears.
  const init = await get("init");
  await podApi().delete("default", "init", { gracePeriodSeconds: 0 });
  const stray = await rt.createContainer({ name: "stray", image: "busybox:1", labels: { [LABELS.managed]: "true", [LABELS.kind]: "app" } });
  const starts = rt.calls.length;
  kubelet = await startKubelet(api.client, rt, opts());
  await eventually(async () => (await rt.listContainers({ [LABELS.podUid]: init.metadata.uid! })).length === 0, 5000, "orphans removed");
  await eventually(async () => !rt.containers.has(stray), 5000, "stray removed");
  const after = (await rt.listContainers({ [NODE_LABEL]: "n1" })).filter((c) => c.state === "running").map((c) => c.id);
  const survivors = before.filter((id) => rt.containers.get(id)?.info.labels[LABELS.podUid] !== init.metadata.uid);
  expect(after.filter((id) => survivors.includes(id)).sort()).toEqual(survivors.sort());
  // Nothing was started except restarts that backoff timing asked for (none of the survivors).
  const restarted = rt.calls.slice(starts).filter((c) => c.startsWith("start ") && survivors.some((id) => c.includes(rt.containers.get(id)?.info.name ?? "@@")));
  expect(restarted).toEqual([]);
});

test("another cluster's containers on the engine are left alone, even under this node's name; unlabelled ones of this node are this cluster's", async () => {
  await kubelet.stop();
  // While it is down: a pod whose containers an agent from before cluster labels made (no
  // io.bramble.cluster), an orphan of that age, and another cluster's pod on a node named "n1" too.
  const legacy = await create("legacy", { containers: [{ name: "app", image: "busybox:1", command: ["sleep", "1000"] }] });
  const make = async (pod: Pod, cluster: string | undefined, name: string, kind: "pause" | "app", hash: string) => {
    const labels = containerLabels(pod, { nodeName: "n1", clusterId: cluster ?? "" }, name, kind, 0, 0, hash);
    if (cluster === undefined) delete labels[LABELS.cluster];
    const id = await rt.createContainer({ name: containerName(pod, name, 0), image: "busybox:1", labels });
    await rt.startContainer(id);
    return id;
  };
  const legacyIds = [await make(legacy, undefined, PAUSE_NAME, "pause", ""), await make(legacy, undefined, "app", "app", specHash(legacy.spec!.containers[0]))];
  const orphan = { metadata: { name: "gone", namespace: "default", uid: crypto.randomUUID() } } as Pod;
  const orphanId = await make(orphan, undefined, "app", "app", "");
  const theirs = { metadata: { name: "theirs", namespace: "default", uid: crypto.randomUUID() } } as Pod;
  const theirIds = [await make(theirs, `sha256:${"2".repeat(64)}`, PAUSE_NAME, "pause", ""), await make(theirs, `sha256:${"2".repeat(64)}`, "app", "app", "")];
  const calls = rt.calls.length;

  kubelet = await startKubelet(api.client, rt, opts());
  // The unlabelled orphan is this node's (same name, no cluster): removed like any orphan.
  await eventually(() => !rt.containers.has(orphanId), 5000, "the unlabelled orphan removed");
  // The unlabelled pod is adopted: running, its containers kept, nothing created for it.
  const p = await until("legacy", (p) => p.status?.phase === "Running" && p.status.containerStatuses?.[0]?.ready === true);
  expect(p.status!.containerStatuses![0].containerID).toBe(`fake://${legacyIds[1]}`);
  expect(rt.calls.slice(calls).filter((c) => c.startsWith("create ") && c.includes("_legacy_"))).toEqual([]);
  // Relists that removed the orphan saw the other cluster's containers too, and left them running.
  for (const id of theirIds) expect(rt.containers.get(id)?.info.state).toBe("running");
  // New containers carry the cluster.
  await create("labelled", { containers: [{ name: "app", image: "busybox:1", command: ["sleep", "1000"] }] });
  const labelled = await until("labelled", (p) => p.status?.phase === "Running");
  for (const c of await rt.listContainers({ [LABELS.podUid]: labelled.metadata.uid! })) expect(c.labels).toMatchObject({ [LABELS.cluster]: CLUSTER, [NODE_LABEL]: "n1" });
  for (const id of theirIds) await rt.removeContainer(id);
});

const eventsFor = async (uid: string) => {
  const list = (await api.client.resource({ group: "", version: "v1", plural: "events", namespaced: true }).list("default")) as { items: Array<{ reason?: string; message?: string; involvedObject?: { uid?: string } }> };
  return list.items.filter((e) => e.involvedObject?.uid === uid);
};

test("postStart exec runs after the start; a failing one kills the container, which restarts per policy", async () => {
  const hooks: Array<{ cmd: string[]; attempt: string }> = [];
  rt.execHandler = (c, cmd) => {
    if (cmd[0] !== "hook") return undefined;
    hooks.push({ cmd, attempt: c.labels[LABELS.restartCount] });
    return { exitCode: c.labels[LABELS.restartCount] === "0" ? 1 : 0, stdout: "", stderr: "bad" };
  };
  await create("poststart", { containers: [{ name: "app", image: "busybox:1", command: ["sleep", "1000"], lifecycle: { postStart: { exec: { command: ["hook", "x"] } } } }] });
  const p = await until("poststart", (p) => p.status?.containerStatuses?.[0]?.restartCount === 1 && !!p.status.containerStatuses[0].state?.running && p.status.phase === "Running");
  expect(p.status!.containerStatuses![0].lastState?.terminated?.exitCode).toBe(143);
  expect(hooks.map((h) => h.attempt)).toEqual(["0", "1"]);
  const reasons = await eventually(async () => {
    const r = (await eventsFor(p.metadata.uid!)).map((e) => e.reason);
    return r.includes("FailedPostStartHook") && r;
  }, 3000, "FailedPostStartHook event");
  expect(reasons).toContain("Killing");
  // The hook ran on a started container, before anything else touched it.
  const name = (a: number) => `k8s_app_poststart_default_${p.metadata.uid}_${a}`;
  expect(rt.calls.filter((c) => c.endsWith(name(0)))).toEqual([`create ${name(0)}`, `start ${name(0)}`, `stop ${name(0)}`]);

  // restartPolicy Never: the failed hook fails the pod.
  await create("poststart-never", { restartPolicy: "Never", containers: [{ name: "app", image: "busybox:1", command: ["sleep", "1000"], lifecycle: { postStart: { exec: { command: ["hook"] } } } }] });
  await until("poststart-never", (p) => p.status?.phase === "Failed");
});

test("postStart httpGet hits the pod's address with the hook's path and headers", async () => {
  const seen: Array<{ path: string; header: string | null }> = [];
  let fail = true;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      seen.push({ path: new URL(req.url).pathname, header: req.headers.get("x-hook") });
      const res = new Response(fail ? "no" : "ok", { status: fail ? 500 : 200 });
      fail = false;
      return res;
    },
  });
  try {
    await create("posthttp", {
      containers: [{ name: "app", image: "busybox:1", command: ["sleep", "1000"], ports: [{ name: "web", containerPort: server.port! }], lifecycle: { postStart: { httpGet: { host: "127.0.0.1", port: "web", path: "/started", httpHeaders: [{ name: "x-hook", value: "1" }] } } } }],
    });
    const p = await until("posthttp", (p) => p.status?.containerStatuses?.[0]?.restartCount === 1 && !!p.status.containerStatuses[0].state?.running);
    expect(p.status!.phase).toBe("Running");
    expect(seen).toEqual([{ path: "/started", header: "1" }, { path: "/started", header: "1" }]);
  } finally {
    server.stop(true);
  }
});

test("configMap and secret volumes of a running pod follow their sources on the periodic resync", async () => {
  const cms = api.client.resource({ group: "", version: "v1", plural: "configmaps", namespaced: true });
  const secrets = api.client.resource({ group: "", version: "v1", plural: "secrets", namespaced: true });
  await cms.create("default", { metadata: { name: "live-cfg" }, data: { greeting: "hello" } } as never);
  await secrets.create("default", { metadata: { name: "live-sec" }, stringData: { pw: "one" } } as never);
  // A kubelet of its own, resyncing fast.
  const k2 = await startKubelet(api.client, rt, { ...opts(), nodeName: "n2", resyncIntervalMs: 200 });
  try {
    const p = await podApi().create("default", {
      metadata: { name: "refresh", labels: { v: "1" } },
      spec: {
        nodeName: "n2",
        volumes: [
          { name: "c", configMap: { name: "live-cfg" } },
          { name: "s", secret: { secretName: "live-sec" } },
          { name: "d", downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] } },
        ],
        containers: [{ name: "app", image: "busybox:1", command: ["sleep", "1000"], volumeMounts: [{ name: "c", mountPath: "/c" }, { name: "s", mountPath: "/s" }, { name: "d", mountPath: "/d" }] }],
      },
    });
    await until("refresh", (p) => p.status?.phase === "Running");
    const app = [...rt.containers.values()].find((c) => c.info.labels[LABELS.podName] === "refresh" && c.info.labels[LABELS.kind] === "app")!;
    const file = (mountPath: string, key: string) => readFileSync(join(app.spec.mounts!.find((m) => m.containerPath === mountPath)!.hostPath, key), "utf8");
    expect([file("/c", "greeting"), file("/s", "pw"), file("/d", "labels")]).toEqual(["hello", "one", 'v="1"']);
    await cms.patch("default", "live-cfg", { data: { greeting: "bonjour" } }, "merge");
    await secrets.patch("default", "live-sec", { stringData: { pw: "two" } }, "merge");
    await podApi().patch("default", "refresh", { metadata: { labels: { v: "2" } } }, "merge");
    await eventually(() => file("/c", "greeting") === "bonjour" && file("/s", "pw") === "two" && file("/d", "labels") === 'v="2"', 5000, "volumes refreshed");
    // Nothing restarted for it.
    expect((await get("refresh")).status!.containerStatuses![0].restartCount).toBe(0);
    expect(rt.containers.get(app.info.id)?.info.state).toBe("running");
    await podApi().delete("default", "refresh", { gracePeriodSeconds: 0 });
    await eventually(async () => (await rt.listContainers({ [LABELS.podUid]: p.metadata.uid! })).length === 0, 5000, "refresh pod cleaned up");
  } finally {
    await k2.stop();
  }
});

const started = (name: string) => rt.calls.filter((c) => c.startsWith("start ") && c.includes(`_${name}_default_`)).map((c) => c.split("_")[1]);

test("sidecar init containers start in order without being waited for, run alongside the app and restart when they exit", async () => {
  await create("sidecar", {
    initContainers: [
      { name: "proxy", image: "busybox:1", command: ["sleep", "1000"], restartPolicy: "Always" },
      { name: "setup", image: "busybox:1", command: ["true"] },
    ],
    containers: [{ name: "app", image: "busybox:1", command: ["sleep", "1000"] }],
  });
  const p = await until("sidecar", (p) => p.status?.phase === "Running" && p.status.conditions?.find((c) => c.type === "Ready")?.status === "True");
  expect(started("sidecar")).toEqual(["POD", "proxy", "setup", "app"]);
  const [proxy, setup] = p.status!.initContainerStatuses!;
  expect(proxy).toMatchObject({ name: "proxy", ready: true, started: true, restartCount: 0 });
  expect(proxy.state?.running).toBeDefined();
  expect(setup.state?.terminated?.reason).toBe("Completed");
  expect(p.status!.conditions!.find((c) => c.type === "Initialized")?.status).toBe("True");

  // The sidecar dies: it alone is restarted; the pod stays initialized and running.
  rt.exit(proxy.containerID!.slice("fake://".length), 2);
  const q = await until("sidecar", (p) => p.status?.initContainerStatuses?.[0]?.restartCount === 1 && !!p.status.initContainerStatuses[0].state?.running);
  expect(q.status!.initContainerStatuses![0].lastState?.terminated?.exitCode).toBe(2);
  expect(q.status!.containerStatuses![0]).toMatchObject({ restartCount: 0, containerID: p.status!.containerStatuses![0].containerID });
  expect(q.status!.phase).toBe("Running");
  expect(started("sidecar").filter((n) => n === "setup")).toHaveLength(1);

  // Deletion stops the app containers before the sidecars.
  const mark = rt.calls.length;
  await podApi().delete("default", "sidecar");
  await eventually(() => gone("sidecar"), 5000, "sidecar pod deleted");
  const stops = rt.calls.slice(mark).filter((c) => c.startsWith("stop ") && c.includes("_sidecar_default_")).map((c) => c.split("_")[1]);
  expect(stops.indexOf("app")).toBeLessThan(stops.indexOf("proxy"));
});

test("a sidecar's startupProbe holds the next init container; its readiness counts for the pod", async () => {
  let up = false;
  let ready = false;
  rt.execHandler = (_, cmd) => (cmd[0] === "up" ? { exitCode: up ? 0 : 1, stdout: "", stderr: "" } : cmd[0] === "ready" ? { exitCode: ready ? 0 : 1, stdout: "", stderr: "" } : undefined);
  await create("sidecar-probe", {
    initContainers: [
      {
        name: "proxy",
        image: "busybox:1",
        command: ["sleep", "1000"],
        restartPolicy: "Always",
        startupProbe: { exec: { command: ["up"] }, periodSeconds: 1, failureThreshold: 100 },
        readinessProbe: { exec: { command: ["ready"] }, periodSeconds: 1 },
      },
      { name: "setup", image: "busybox:1", command: ["true"] },
    ],
    containers: [{ name: "app", image: "busybox:1", command: ["sleep", "1000"] }],
  });
  await until("sidecar-probe", (p) => !!p.status?.initContainerStatuses?.[0]?.state?.running);
  await Bun.sleep(1200);
  expect(started("sidecar-probe")).toEqual(["POD", "proxy"]);
  const waiting = await get("sidecar-probe");
  expect(waiting.status!.phase).toBe("Pending");
  expect(waiting.status!.initContainerStatuses![0].started).toBe(false);
  up = true;
  const p = await until("sidecar-probe", (p) => p.status?.phase === "Running" && !!p.status.containerStatuses?.[0]?.state?.running, "app running", 5000);
  expect(started("sidecar-probe")).toEqual(["POD", "proxy", "setup", "app"]);
  expect(p.status!.conditions!.find((c) => c.type === "Ready")).toMatchObject({ status: "False", message: "containers with unready status: [proxy]" });
  ready = true;
  await until("sidecar-probe", (p) => p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True", "ready", 5000);
}, 15_000);

test("a Never pod with a sidecar completes when its app does; the sidecar is stopped", async () => {
  await create("sidecar-job", {
    restartPolicy: "Never",
    initContainers: [{ name: "proxy", image: "busybox:1", command: ["sleep", "1000"], restartPolicy: "Always" }],
    containers: [{ name: "app", image: "busybox:1", command: ["sh", "-c", "echo done"] }],
  });
  const p = await until("sidecar-job", (p) => p.status?.phase === "Succeeded");
  await eventually(async () => (await rt.listContainers({ [LABELS.podUid]: p.metadata.uid! })).every((c) => c.state !== "running"), 3000, "sidecar stopped");
  expect(started("sidecar-job").filter((n) => n === "proxy")).toHaveLength(1);
});

test("graceful deletion writes a final status (terminated containers, terminal phase) before the pod goes", async () => {
  await create("last-word", { containers: [{ name: "app", image: "busybox:1", command: ["sleep", "1000"] }] });
  const p = await until("last-word", (p) => p.status?.phase === "Running");
  const seen: Array<{ type: string; pod: Pod }> = [];
  const w = podApi().watch("default", { fieldSelector: "metadata.name=last-word", resourceVersion: p.metadata.resourceVersion }, (e) => seen.push({ type: e.type, pod: e.object as Pod }));
  try {
    await podApi().delete("default", "last-word");
    await eventually(() => seen.some((e) => e.type === "DELETED"), 5000, "DELETED event");
    const last = seen.filter((e) => e.type === "MODIFIED").at(-1)!.pod;
    expect(last.metadata.deletionTimestamp).toBeDefined();
    expect(last.status!.phase).toBe("Failed"); // stopped with 143
    expect(last.status!.containerStatuses![0].state?.terminated).toMatchObject({ exitCode: 143, reason: "Error" });
    expect(last.status!.containerStatuses![0].imageID).toBe(p.status!.containerStatuses![0].imageID);
    expect(last.status!.conditions!.find((c) => c.type === "Ready")?.status).toBe("False");
  } finally {
    w.stop();
  }
});

test("a deleted pod held by a finalizer is stopped and reported once, then left alone until it goes", async () => {
  await podApi().create("default", { metadata: { name: "held", finalizers: ["example.com/hold"] }, spec: { nodeName: "n1", containers: [{ name: "app", image: "busybox:1", command: ["sleep", "1000"] }] } } as Pod);
  const p = await until("held", (p) => p.status?.phase === "Running");
  const uid = p.metadata.uid!;
  let lists = 0;
  const list = rt.listContainers.bind(rt);
  rt.listContainers = (filter) => {
    if (filter?.[LABELS.podUid] === uid) lists++;
    return list(filter);
  };
  try {
    await podApi().delete("default", "held");
    await until("held", (p) => p.metadata.deletionGracePeriodSeconds === 0 && p.status?.phase === "Failed", "held stopped and reported");
    await eventually(async () => (await rt.listContainers({ [LABELS.podUid]: uid })).length === 0, 5000, "held's containers removed");
    const settled = lists;
    await Bun.sleep(300);
    // A pod terminated over and over would be listed hundreds of times here.
    expect(lists - settled).toBeLessThan(5);
    await podApi().patch("default", "held", { metadata: { finalizers: null } });
    await eventually(() => gone("held"), 5000, "held deleted");
  } finally {
    rt.listContainers = list;
  }
});

test("reclaimDisk: a finished pod's dead containers go (sandbox too); a running pod's containers stay", async () => {
  await create("finished", { restartPolicy: "Never", containers: [{ name: "app", image: "busybox:1", command: ["true"] }] });
  await create("serving", { containers: [{ name: "app", image: "busybox:1", command: ["sleep", "1000"] }] });
  const finished = await until("finished", (p) => p.status?.phase === "Succeeded");
  const serving = await until("serving", (p) => p.status?.phase === "Running");
  const of = (uid: string) => rt.listContainers({ [LABELS.podUid]: uid });
  await eventually(async () => (await of(finished.metadata.uid!)).every((c) => c.state === "exited"), 5000, "the finished pod's sandbox stopped");
  expect(await of(finished.metadata.uid!)).toHaveLength(2);
  const servingBefore = (await of(serving.metadata.uid!)).map((c) => c.id).sort();
  rt.imageFs = dataDir; // a real directory for statfs
  const before = rt.containers.size;
  const r = await kubelet.reclaimDisk({ targetFreeBytes: Number.MAX_SAFE_INTEGER });
  // Earlier tests' finished pods lose theirs too.
  expect(r.removedContainers).toBe(before - rt.containers.size);
  expect(r.removedContainers).toBeGreaterThanOrEqual(2);
  expect(await of(finished.metadata.uid!)).toEqual([]);
  expect((await of(serving.metadata.uid!)).map((c) => c.id).sort()).toEqual(servingBefore);
  // Images: this kubelet runs no image GC here, so every image is new to it and waits the minimum age.
  expect(r.removedImages).toEqual([]);
  expect((await get("finished")).status?.phase).toBe("Succeeded");
});

test("ephemeral containers start once in the pod's network, in the target's process namespace, and are reported", async () => {
  await create("debugme", { containers: [{ name: "app", image: "busybox:1", command: ["sleep", "1000"] }] });
  await until("debugme", (p) => p.status?.phase === "Running");
  const p = await get("debugme");
  await podApi().patch("default", "debugme", { spec: { ephemeralContainers: [{ name: "dbg", image: "busybox:1", command: ["sh", "-c", "exit 3"], targetContainerName: "app" }] } }, "strategic", "ephemeralcontainers");
  const q = await until("debugme", (p) => !!p.status?.ephemeralContainerStatuses?.[0]?.state?.terminated, "the ephemeral container ran");
  expect(q.status!.ephemeralContainerStatuses![0]).toMatchObject({ name: "dbg", image: "busybox:1", ready: false, restartCount: 0, state: { terminated: { exitCode: 3 } } });
  expect(q.status!.phase).toBe("Running");
  expect(q.metadata.generation).toBe((p.metadata.generation ?? 1) + 1);
  const app = [...rt.containers.values()].find((c) => c.info.labels[LABELS.podName] === "debugme" && c.info.labels[LABELS.container] === "app")!;
  const dbg = [...rt.containers.values()].filter((c) => c.info.labels[LABELS.podName] === "debugme" && c.info.labels[LABELS.container] === "dbg");
  expect(dbg).toHaveLength(1);
  expect(dbg[0]!.info.labels[LABELS.kind]).toBe("ephemeral");
  expect(dbg[0]!.spec.networkMode).toBe(app.spec.networkMode);
  expect(dbg[0]!.spec.pidMode).toBe(`container:${app.info.id}`);
  // Exited, it is not restarted.
  await Bun.sleep(300);
  expect([...rt.containers.values()].filter((c) => c.info.labels[LABELS.podName] === "debugme" && c.info.labels[LABELS.container] === "dbg")).toHaveLength(1);
});
