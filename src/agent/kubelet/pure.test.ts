import { expect, test } from "bun:test";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "../../api/resources/core/pod";
import type { ContainerInfo } from "../runtime/runtime";
import { effectiveStreak, restartDelayMs } from "./backoff";
import { containerEnv, expand, kubernetesServiceEnv } from "./env";
import { ProbeCounter } from "./probes";
import { registryOf, authFor } from "./pull";
import type { PodSources } from "./sources";
import { computePodStatus, podPhase, type ContainerView } from "./status";
import { containerMounts, refreshContentVolumes, renderVolumes, SERVICE_ACCOUNT_PATH, writeFiles } from "./volumes";

test("CrashLoopBackOff: immediate first restart, then 10 s doubling to 5 min; reset after 10 min running", () => {
  expect([0, 1, 2, 3, 4, 5, 6, 7, 10].map(restartDelayMs)).toEqual([0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  expect(effectiveStreak(5, 599_000)).toBe(5);
  expect(effectiveStreak(5, 600_000)).toBe(0);
});

test("probe thresholds: the verdict flips only after enough results in a row", () => {
  const c = new ProbeCounter(2, 3, false);
  expect(c.record(true)).toBe(false);
  expect(c.record(true)).toBe(true);
  expect(c.record(false)).toBe(true);
  expect(c.record(false)).toBe(true);
  expect(c.record(true)).toBe(true); // resets the failures
  expect([c.record(false), c.record(false), c.record(false)]).toEqual([true, true, false]);
});

const pod = (over: Partial<Pod["spec"]> = {}): Pod => ({
  metadata: { name: "p", namespace: "ns", uid: "u1", labels: { app: "x" }, annotations: { a: "b" } },
  spec: { nodeName: "n1", containers: [{ name: "app", image: "img", resources: { limits: { cpu: "500m", memory: "64Mi" } } }], ...over },
  status: { phase: "Pending", qosClass: "Burstable", conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: "2025-01-01T00:00:00Z" }] },
});
const info = (over: Partial<ContainerInfo>): ContainerInfo => ({ id: "c1", name: "n", image: "img", imageId: "sha256:1", labels: {}, state: "running", createdAt: "2025-01-01T00:00:00Z", startedAt: "2025-01-01T00:00:01Z", ips: {}, ...over });
const view = (attempts: ContainerInfo[], extra: Partial<ContainerView> = {}): ContainerView => ({ attempts, ready: false, started: false, ...extra });

test("status: running and ready, not ready, crash loop with lastState, terminal phases", () => {
  const now = new Date("2025-01-01T00:01:00Z");
  const base = { pod: pod(), now, runtimeName: "docker", sandboxReady: true, podIP: "172.17.0.5", hostIP: "10.0.0.1", init: new Map() };
  const ok = computePodStatus({ ...base, app: new Map([["app", view([info({})], { ready: true, started: true })]]) });
  expect(ok.phase).toBe("Running");
  expect(ok.qosClass).toBe("Burstable");
  expect(ok.podIPs).toEqual([{ ip: "172.17.0.5" }]);
  expect(Object.fromEntries(ok.conditions!.map((c) => [c.type, c.status]))).toMatchObject({ PodScheduled: "True", Initialized: "True", Ready: "True", ContainersReady: "True" });
  expect(ok.containerStatuses![0]).toMatchObject({ ready: true, started: true, restartCount: 0, containerID: "docker://c1", state: { running: { startedAt: "2025-01-01T00:00:01Z" } } });

  const unready = computePodStatus({ ...base, app: new Map([["app", view([info({})])]]) });
  expect(unready.conditions!.find((c) => c.type === "Ready")).toMatchObject({ status: "False", reason: "ContainersNotReady", message: "containers with unready status: [app]" });

  const exited = info({ id: "c2", state: "exited", exitCode: 3, finishedAt: "2025-01-01T00:00:30Z", labels: { "io.bramble.container.restartCount": "2" } });
  const loop = computePodStatus({ ...base, app: new Map([["app", view([exited, info({ state: "exited", exitCode: 1 })], { waiting: { reason: "CrashLoopBackOff" } })]]) });
  expect(loop.phase).toBe("Running");
  expect(loop.containerStatuses![0]).toMatchObject({ restartCount: 2, state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { exitCode: 3, reason: "Error", containerID: "docker://c2" } } });

  const never = pod({ restartPolicy: "Never" });
  const failed = computePodStatus({ ...base, pod: never, app: new Map([["app", view([exited])]]) });
  expect(failed.phase).toBe("Failed");
  expect(failed.conditions!.find((c) => c.type === "Ready")?.reason).toBe("PodCompleted");
  const done = info({ state: "exited", exitCode: 0, finishedAt: "2025-01-01T00:00:30Z" });
  expect(computePodStatus({ ...base, pod: never, app: new Map([["app", view([done])]]) }).phase).toBe("Succeeded");
  expect(computePodStatus({ ...base, pod: pod({ restartPolicy: "OnFailure" }), app: new Map([["app", view([exited])]]) }).phase).toBe("Running");
  // Waiting for an image: Pending with the reason.
  const pulling = computePodStatus({ ...base, app: new Map([["app", view([], { waiting: { reason: "ErrImagePull", message: "no" } })]]) });
  expect(pulling.phase).toBe("Pending");
  expect(pulling.containerStatuses![0].state).toEqual({ waiting: { reason: "ErrImagePull", message: "no" } });
});

test("phase: init containers gate the pod", () => {
  const p = pod({ initContainers: [{ name: "i", image: "img" }] });
  const initRunning = [{ name: "i", state: { running: {} } }];
  expect(podPhase(p, initRunning, [{ name: "app", state: { waiting: { reason: "PodInitializing" } } }])).toBe("Pending");
  const initFailed = [{ name: "i", state: { terminated: { exitCode: 1 } } }];
  expect(podPhase({ ...p, spec: { ...p.spec!, restartPolicy: "Never" } }, initFailed, [])).toBe("Failed");
});

const sources = (cms: Record<string, Record<string, string>>, secrets: Record<string, Record<string, string>> = {}): PodSources => {
  const enc = (m?: Record<string, string>) => m && Object.fromEntries(Object.entries(m).map(([k, v]) => [k, new TextEncoder().encode(v)]));
  return { configMap: async (n) => enc(cms[n]), secret: async (n) => enc(secrets[n]), secretObject: async () => undefined };
};

test("env: envFrom with prefix, $(VAR) expansion, configMap/secret keys, downward API, resources, in-cluster API", async () => {
  expect(expand("$(A)-$$(A)-$(NOPE)", { A: "1" })).toBe("1-$(A)-$(NOPE)");
  const p = pod();
  const c = {
    ...p.spec!.containers[0],
    envFrom: [{ configMapRef: { name: "cm" }, prefix: "CM_" }, { secretRef: { name: "missing", optional: true } }],
    env: [
      { name: "A", value: "x" },
      { name: "B", value: "$(A)y" },
      { name: "S", valueFrom: { secretKeyRef: { name: "s", key: "pw" } } },
      { name: "NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "LBL", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
      { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
      { name: "CPU", valueFrom: { resourceFieldRef: { resource: "limits.cpu", divisor: "1m" } } },
      { name: "MEM", valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } } },
    ],
  };
  const env = await containerEnv({ pod: p, podIP: "1.2.3.4", hostIP: "5.6.7.8", apiServerHost: "10.43.0.1", apiServerPort: 443, nodeCpuMillis: 4000, nodeMemoryBytes: 1 << 30 }, c, sources({ cm: { k: "v", "bad key": "x" } }, { s: { pw: "secret" } }));
  expect(env).toMatchObject({ CM_k: "v", A: "x", B: "xy", S: "secret", NAME: "p", LBL: "x", IP: "1.2.3.4", NODE: "n1", CPU: "500", MEM: "64", KUBERNETES_SERVICE_HOST: "10.43.0.1", KUBERNETES_SERVICE_PORT: "443" });
  expect(env["CM_bad key"]).toBeUndefined();
  // The `kubernetes` Service's variables, all of them and nothing else of that name, as upstream's kubelet sets them.
  expect(Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("KUBERNETES_")))).toEqual({
    KUBERNETES_SERVICE_HOST: "10.43.0.1",
    KUBERNETES_SERVICE_PORT: "443",
    KUBERNETES_SERVICE_PORT_HTTPS: "443",
    KUBERNETES_PORT: "tcp://10.43.0.1:443",
    KUBERNETES_PORT_443_TCP: "tcp://10.43.0.1:443",
    KUBERNETES_PORT_443_TCP_PROTO: "tcp",
    KUBERNETES_PORT_443_TCP_PORT: "443",
    KUBERNETES_PORT_443_TCP_ADDR: "10.43.0.1",
  });
  // The names follow the port: a Service on another port would not be announced as 443.
  expect(kubernetesServiceEnv("10.96.0.1", 6443)).toMatchObject({ KUBERNETES_PORT_6443_TCP_ADDR: "10.96.0.1", KUBERNETES_PORT_6443_TCP: "tcp://10.96.0.1:6443" });
  expect(kubernetesServiceEnv("10.96.0.1", 6443).KUBERNETES_PORT_443_TCP).toBeUndefined();
  expect(containerEnv({ pod: p, apiServerHost: "h", apiServerPort: 1, nodeCpuMillis: 1, nodeMemoryBytes: 1 }, { name: "x", env: [{ name: "Y", valueFrom: { configMapKeyRef: { name: "nope", key: "k" } } }] }, sources({}))).rejects.toThrow(/configmap "nope" not found/);
});

test("volumes: configMap items and modes, secret, downwardAPI, projected, emptyDir, service-account files", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "bramble-vol-"));
  try {
    const p = pod({
      volumes: [
        { name: "cm", configMap: { name: "cm", items: [{ key: "a", path: "sub/a.txt", mode: 0o600 }], defaultMode: 0o640 } },
        { name: "sec", secret: { secretName: "s", defaultMode: 0o400 } },
        { name: "dw", downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }, { path: "name", fieldRef: { fieldPath: "metadata.name" } }] } },
        { name: "pj", projected: { sources: [{ configMap: { name: "cm" } }, { serviceAccountToken: { path: "tok" } }] } },
        { name: "scratch", emptyDir: {} },
      ],
    });
    const ctx = { pod: p, apiServerHost: "h", apiServerPort: 1, nodeCpuMillis: 1, nodeMemoryBytes: 1, caCertPem: "CA-PEM", serviceAccountToken: async () => "TOKEN", mountTmpfs: async () => false };
    const vols = await renderVolumes(ctx, dataDir, sources({ cm: { a: "A", b: "B" } }, { s: { pw: "x" } }));
    const cm = vols.get("cm")!;
    expect(cm.readOnly).toBe(true);
    expect(readFileSync(join(cm.hostPath, "sub/a.txt"), "utf8")).toBe("A");
    expect(statSync(join(cm.hostPath, "sub/a.txt")).mode & 0o777).toBe(0o600);
    expect(() => statSync(join(cm.hostPath, "b"))).toThrow();
    expect(statSync(join(vols.get("sec")!.hostPath, "pw")).mode & 0o777).toBe(0o400);
    expect(readFileSync(join(vols.get("dw")!.hostPath, "labels"), "utf8")).toBe('app="x"');
    expect(readFileSync(join(vols.get("pj")!.hostPath, "tok"), "utf8")).toBe("TOKEN");
    expect(readFileSync(join(vols.get("pj")!.hostPath, "b"), "utf8")).toBe("B");
    expect(vols.get("scratch")!.hostPath).toContain("/agent/pods/u1/volumes/kubernetes.io~empty-dir/scratch");
    const mounts = containerMounts(p, [{ name: "cm", mountPath: "/etc/cm" }, { name: "scratch", mountPath: "/s" }], vols);
    expect(mounts.map((m) => [m.containerPath, m.readOnly])).toEqual([["/etc/cm", true], ["/s", false], [SERVICE_ACCOUNT_PATH, true]]);
    const sa = mounts[2].hostPath;
    expect([readFileSync(join(sa, "token"), "utf8"), readFileSync(join(sa, "ca.crt"), "utf8"), readFileSync(join(sa, "namespace"), "utf8")]).toEqual(["TOKEN", "CA-PEM", "ns"]);
    // A key removed from the configMap disappears on the next render.
    await renderVolumes(ctx, dataDir, sources({ cm: { a: "A2" } }, { s: { pw: "x" } }));
    expect(() => statSync(join(vols.get("pj")!.hostPath, "b"))).toThrow();
    expect(() => containerMounts(p, [{ name: "nope", mountPath: "/x" }], vols)).toThrow(/volume "nope"/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("image pull secrets: registry matching and dockerconfigjson auth", async () => {
  expect(registryOf("nginx")).toBe("docker.io");
  expect(registryOf("ghcr.io/a/b:1")).toBe("ghcr.io");
  expect(registryOf("localhost:5000/x")).toBe("localhost:5000");
  const cfg = JSON.stringify({ auths: { "ghcr.io": { auth: Buffer.from("me:pw").toString("base64") } } });
  const p = pod({ imagePullSecrets: [{ name: "regcred" }] });
  expect(await authFor(p, "ghcr.io/a/b:1", sources({}, { regcred: { ".dockerconfigjson": cfg } }))).toEqual({ username: "me", password: "pw", serveraddress: "ghcr.io" });
  expect(await authFor(p, "nginx", sources({}, { regcred: { ".dockerconfigjson": cfg } }))).toBeUndefined();
});

test("content volumes are written atomically: ..data swaps to a new payload; unchanged payloads are left alone", () => {
  const dir = mkdtempSync(join(tmpdir(), "bramble-atomic-"));
  try {
    // An earlier version's layout (plain files) is replaced.
    writeFileSync(join(dir, "old"), "legacy");
    expect(writeFiles(dir, new Map([["a", { data: "1" }], ["sub/b", { data: "2", mode: 0o600 }]]), 0o644)).toBe(true);
    expect(lstatSync(join(dir, "a")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dir, "a"))).toBe("..data/a");
    expect(readlinkSync(join(dir, "sub"))).toBe("..data/sub");
    expect(existsSync(join(dir, "old"))).toBe(false);
    expect([readFileSync(join(dir, "a"), "utf8"), readFileSync(join(dir, "sub/b"), "utf8")]).toEqual(["1", "2"]);
    expect(statSync(join(dir, "sub/b")).mode & 0o777).toBe(0o600);
    const first = readlinkSync(join(dir, "..data"));
    expect(first).toMatch(/^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\./);
    expect(statSync(join(dir, first)).mode & 0o777).toBe(0o755);

    expect(writeFiles(dir, new Map([["a", { data: "1" }], ["sub/b", { data: "2", mode: 0o600 }]]), 0o644)).toBe(false);
    expect(readlinkSync(join(dir, "..data"))).toBe(first);

    // A changed value, a removed key, a new key: one swap, the old payload gone.
    expect(writeFiles(dir, new Map([["a", { data: "one" }], ["c", { data: "3" }]]), 0o644)).toBe(true);
    const second = readlinkSync(join(dir, "..data"));
    expect(second).not.toBe(first);
    expect(readFileSync(join(dir, "a"), "utf8")).toBe("one");
    expect(readFileSync(join(dir, "c"), "utf8")).toBe("3");
    expect(existsSync(join(dir, "sub"))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(["..data", second, "a", "c"].sort());
    // A mode change alone is a change too.
    expect(writeFiles(dir, new Map([["a", { data: "one", mode: 0o400 }], ["c", { data: "3" }]]), 0o644)).toBe(true);
    expect(statSync(join(dir, "a")).mode & 0o777).toBe(0o400);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("refreshContentVolumes re-renders configMap/secret volumes, keeping the last content when a source is gone", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "bramble-refresh-"));
  try {
    const p = pod({ volumes: [{ name: "cm", configMap: { name: "cm" } }, { name: "gone", configMap: { name: "gone" } }, { name: "scratch", emptyDir: {} }] });
    const ctx = { pod: p, apiServerHost: "h", apiServerPort: 1, nodeCpuMillis: 1, nodeMemoryBytes: 1, caCertPem: "CA", serviceAccountToken: async () => "T", mountTmpfs: async () => false };
    const vols = await renderVolumes(ctx, dataDir, sources({ cm: { k: "v1" }, gone: { x: "kept" } }));
    writeFileSync(join(vols.get("scratch")!.hostPath, "f"), "mine");
    expect(await refreshContentVolumes(ctx, dataDir, sources({ cm: { k: "v2" } }))).toEqual(['volume "gone": configmap "gone" not found']);
    expect(readFileSync(join(vols.get("cm")!.hostPath, "k"), "utf8")).toBe("v2");
    expect(readFileSync(join(vols.get("gone")!.hostPath, "x"), "utf8")).toBe("kept");
    expect(readFileSync(join(vols.get("scratch")!.hostPath, "f"), "utf8")).toBe("mine");
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("status of a deleted pod whose containers stopped: terminal phase", () => {
  const now = new Date("2025-01-01T00:01:00Z");
  const base = { pod: pod(), now, runtimeName: "docker", sandboxReady: false, init: new Map(), terminal: true };
  const ok = info({ state: "exited", exitCode: 0, finishedAt: "2025-01-01T00:00:30Z" });
  const bad = info({ state: "exited", exitCode: 137, finishedAt: "2025-01-01T00:00:30Z" });
  expect(computePodStatus({ ...base, app: new Map([["app", view([ok])]]) }).phase).toBe("Succeeded");
  expect(computePodStatus({ ...base, app: new Map([["app", view([bad])]]) }).phase).toBe("Failed");
  expect(computePodStatus({ ...base, app: new Map() }).phase).toBe("Failed");
  expect(computePodStatus({ ...base, terminal: false, app: new Map([["app", view([bad])]]) }).phase).toBe("Running");
});

test("phase: a sidecar gates init until started, never fails the pod, and counts once the apps exist", () => {
  const p = pod({ restartPolicy: "Never", initContainers: [{ name: "side", image: "img", restartPolicy: "Always" }] });
  const app = (s: object) => [{ name: "app", ...s }];
  expect(podPhase(p, [{ name: "side", state: { running: {} }, started: false }], app({ state: { waiting: { reason: "PodInitializing" } } }))).toBe("Pending");
  expect(podPhase(p, [{ name: "side", state: { terminated: { exitCode: 1 } } }], app({ state: { waiting: { reason: "PodInitializing" } } }))).toBe("Pending");
  expect(podPhase(p, [{ name: "side", state: { running: {} }, started: true }], app({ state: { running: {} }, containerID: "docker://a" }))).toBe("Running");
  // Restarting after the apps began: still initialized.
  expect(podPhase(p, [{ name: "side", state: { waiting: { reason: "CrashLoopBackOff" } }, started: false }], app({ state: { running: {} }, containerID: "docker://a" }))).toBe("Running");
});
