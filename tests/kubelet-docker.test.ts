// The kubelet against the real Docker engine and an in-process API server: pods really run.
// Needs dockerd (CI starts one; locally these skip with a message when there is none).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "../src/api/resources/core/pod";
import { startHttpTestApi, eventually, type HttpTestApi } from "../src/agent/node/testing";
import { TEST_IMAGE, ensureTestImage } from "../src/agent/images/testimage";
import { PAUSE_IMAGE } from "../src/agent/images/pause";
import { startKubelet, type Kubelet } from "../src/agent/kubelet/kubelet";
import { NODE_LABEL } from "../src/agent/kubelet/names";
import { dockerForTests, removeImageIfUnused } from "../src/agent/runtime/docker/testing";
import type { DockerRuntime } from "../src/agent/runtime/docker/docker";
import { LABELS } from "../src/agent/runtime/runtime";

const docker = await dockerForTests("kubelet Docker tests");
const NODE = `kd-${Date.now().toString(36)}`;
const pods = { group: "", version: "v1", plural: "pods", namespaced: true };
let api: HttpTestApi;
let rt: DockerRuntime;
let kubelet: Kubelet;
let dataDir: string;

const opts = () => ({ nodeName: NODE, clusterId: `sha256:${"d".repeat(64)}`, dataDir, apiServerHost: "10.43.0.1", apiServerPort: 443, caCertPem: "CA", nodeIP: "127.0.0.1", relistIntervalMs: 300, resyncIntervalMs: 1000 });
const podApi = () => api.client.resource<Pod>(pods);
const get = (name: string) => podApi().get("default", name);
const ours = () => rt.listContainers({ [NODE_LABEL]: NODE });
const sh = (script: string) => ({ image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sh", "-c", script] });
// PID 1 ignores SIGTERM unless it traps it: these containers stop at once when asked.
const serve = (script: string) => sh(`trap 'exit 0' TERM; ${script} & wait`);

async function create(pod: Pod) {
  return podApi().create("default", { ...pod, spec: { nodeName: NODE, terminationGracePeriodSeconds: 5, ...pod.spec! } });
}

async function until(name: string, check: (p: Pod) => boolean, ms = 20_000, what = `${name} condition`) {
  return eventually(async () => {
    const p = await get(name);
    return check(p) && p;
  }, ms, what);
}

const ready = (p: Pod) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

describe.skipIf(!docker)("kubelet on Docker", () => {
  beforeAll(async () => {
    rt = docker!;
    await ensureTestImage(rt);
    dataDir = mkdtempSync(join(tmpdir(), "bramble-kubelet-"));
    api = await startHttpTestApi();
    kubelet = await startKubelet(api.client, rt, opts());
  }, 30_000);

  afterAll(async () => {
    await kubelet?.stop();
    for (const c of await rt.listContainers({ [NODE_LABEL]: NODE })) await rt.removeContainer(c.id);
    await api?.stop();
    // Images this file made: the next run rebuilds them in well under a second.
    await removeImageIfUnused(rt, TEST_IMAGE);
    await removeImageIfUnused(rt, PAUSE_IMAGE);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  test("containers of a pod share localhost and an emptyDir; status shows IPs, IDs and conditions", async () => {
    await create({
      metadata: { name: "web" },
      spec: {
        volumes: [{ name: "shared", emptyDir: {} }],
        containers: [
          { name: "server", ...serve("echo hi-from-server > /data/index.html; httpd -f -p 8080 -h /data"), volumeMounts: [{ name: "shared", mountPath: "/data" }] },
          { name: "client", ...serve("sleep 1000"), volumeMounts: [{ name: "shared", mountPath: "/data" }] },
        ],
      },
    });
    const pod = await until("web", (p) => p.status?.phase === "Running" && ready(p));
    const st = pod.status!;
    expect(st.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(st.hostIP).toBe("127.0.0.1");
    expect(st.containerStatuses!.map((c) => c.containerID)).toEqual([expect.stringMatching(/^docker:\/\/[0-9a-f]{64}$/), expect.stringMatching(/^docker:\/\/[0-9a-f]{64}$/)]);
    expect(st.containerStatuses![0].imageID).toMatch(/^docker:\/\/sha256:/);
    const client = st.containerStatuses!.find((c) => c.name === "client")!.containerID!.slice(9);
    const r = await eventually(async () => {
      const out = await rt.exec(client, ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/index.html"]);
      return out.exitCode === 0 && out;
    }, 10_000, "wget over localhost");
    expect(r.stdout).toBe("hi-from-server\n");
    expect((await rt.exec(client, ["cat", "/data/index.html"])).stdout).toBe("hi-from-server\n");
  }, 30_000);

  test("configMap volume and env from a configMap key, downward API env", async () => {
    await api.client.resource({ group: "", version: "v1", plural: "configmaps", namespaced: true }).create("default", { metadata: { name: "cfg" }, data: { greeting: "hello", "app.conf": "x=1\n" } } as never);
    await create({
      metadata: { name: "cfgpod" },
      spec: {
        volumes: [{ name: "c", configMap: { name: "cfg" } }],
        containers: [
          {
            name: "app",
            ...serve("sleep 1000"),
            env: [
              { name: "GREETING", valueFrom: { configMapKeyRef: { name: "cfg", key: "greeting" } } },
              { name: "MY_POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              { name: "MY_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            ],
            volumeMounts: [
              { name: "c", mountPath: "/etc/cfg" },
              { name: "c", mountPath: "/etc/greeting", subPath: "greeting" },
            ],
          },
        ],
      },
    });
    const pod = await until("cfgpod", ready);
    const id = pod.status!.containerStatuses![0].containerID!.slice(9);
    const env = (await rt.exec(id, ["env"])).stdout;
    expect(env).toContain("GREETING=hello");
    expect(env).toContain("MY_POD=cfgpod");
    expect(env).toContain(`MY_IP=${pod.status!.podIP}`);
    expect(env).toContain("KUBERNETES_SERVICE_HOST=10.43.0.1");
    expect((await rt.exec(id, ["cat", "/etc/cfg/app.conf"])).stdout).toBe("x=1\n");
    expect((await rt.exec(id, ["cat", "/var/run/secrets/kubernetes.io/serviceaccount/namespace"])).stdout).toBe("default");
    expect((await rt.exec(id, ["cat", "/etc/greeting"])).stdout).toBe("hello");

    // An update reaches the running container through the volume (not through env or subPath).
    await api.client.resource({ group: "", version: "v1", plural: "configmaps", namespaced: true }).patch("default", "cfg", { data: { greeting: "bonjour", "app.conf": "x=2\n" } }, "merge");
    await eventually(async () => (await rt.exec(id, ["cat", "/etc/cfg/greeting"])).stdout === "bonjour", 10_000, "configMap update in the container");
    expect((await rt.exec(id, ["cat", "/etc/cfg/app.conf"])).stdout).toBe("x=2\n");
    expect((await rt.exec(id, ["cat", "/etc/greeting"])).stdout).toBe("hello");
    expect((await rt.exec(id, ["env"])).stdout).toContain("GREETING=hello");
    expect((await get("cfgpod")).status!.containerStatuses![0].restartCount).toBe(0);
  }, 30_000);

  test("readiness gates Ready until the probe passes", async () => {
    await create({
      metadata: { name: "gated" },
      spec: { containers: [{ name: "app", ...serve("sleep 1000"), readinessProbe: { exec: { command: ["cat", "/tmp/ready"] }, periodSeconds: 1 } }] },
    });
    const running = await until("gated", (p) => p.status?.containerStatuses?.[0]?.state?.running !== undefined);
    await Bun.sleep(1500);
    expect(ready(await get("gated"))).toBe(false);
    await rt.exec(running.status!.containerStatuses![0].containerID!.slice(9), ["touch", "/tmp/ready"]);
    const p = await until("gated", ready, 10_000);
    expect(p.status!.containerStatuses![0].ready).toBe(true);
  }, 30_000);

  test("a crash-looping container restarts with backoff, counting restarts and keeping lastState", async () => {
    await create({ metadata: { name: "crash" }, spec: { containers: [{ name: "app", ...sh("echo dying; exit 3") }] } });
    const p = await until("crash", (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CrashLoopBackOff", 20_000);
    const cs = p.status!.containerStatuses![0];
    expect(cs.restartCount).toBeGreaterThanOrEqual(1);
    expect(cs.lastState?.terminated).toMatchObject({ exitCode: 3, reason: "Error" });
    expect(p.status!.phase).toBe("Running");
    // The previous attempt is kept (for logs --previous), older ones are not.
    const mine = (await ours()).filter((c) => c.labels[LABELS.podUid] === p.metadata.uid && c.labels[LABELS.kind] === "app");
    expect(mine.length).toBeLessThanOrEqual(2);
  }, 30_000);

  test("postStart exec runs in the started container; a failing one restarts it", async () => {
    await create({
      metadata: { name: "hooked" },
      spec: { containers: [{ name: "app", ...serve("sleep 1000"), lifecycle: { postStart: { exec: { command: ["sh", "-c", "echo hooked > /tmp/hook"] } } } }] },
    });
    const p = await until("hooked", (p) => !!p.status?.containerStatuses?.[0]?.state?.running);
    expect((await rt.exec(p.status!.containerStatuses![0].containerID!.slice(9), ["cat", "/tmp/hook"])).stdout).toBe("hooked\n");
    expect(p.status!.containerStatuses![0].restartCount).toBe(0);
    // Fails the first time only (the emptyDir outlives the container): one restart, then running.
    await create({
      metadata: { name: "badhook" },
      spec: {
        volumes: [{ name: "d", emptyDir: {} }],
        containers: [{ name: "app", ...serve("sleep 1000"), volumeMounts: [{ name: "d", mountPath: "/data" }], lifecycle: { postStart: { exec: { command: ["sh", "-c", "[ -f /data/once ] || { touch /data/once; exit 7; }"] } } } }],
      },
    });
    const bad = await until("badhook", (p) => p.status?.containerStatuses?.[0]?.restartCount === 1 && !!p.status.containerStatuses[0].state?.running);
    expect(bad.status!.containerStatuses![0].lastState?.terminated).toBeDefined();
  }, 30_000);

  test("a sidecar init container serves the init containers after it and keeps running with the app", async () => {
    await create({
      metadata: { name: "sidecars" },
      spec: {
        initContainers: [
          { name: "proxy", ...serve("echo from-sidecar > /tmp/i; httpd -f -p 8081 -h /tmp"), restartPolicy: "Always", startupProbe: { tcpSocket: { port: 8081 }, periodSeconds: 1 } },
          { name: "fetch", ...sh("wget -q -O - http://127.0.0.1:8081/i") },
        ],
        containers: [{ name: "app", ...serve("sleep 1000") }],
      },
    });
    const p = await until("sidecars", (p) => p.status?.phase === "Running" && ready(p));
    const [proxy, fetch] = p.status!.initContainerStatuses!;
    expect(proxy).toMatchObject({ started: true, ready: true, restartCount: 0 });
    expect(proxy.state?.running).toBeDefined();
    expect(fetch.state?.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
    const logs = await rt.logs(fetch.containerID!.slice(9));
    let out = "";
    for await (const chunk of logs) out += chunk.toString();
    expect(out).toContain("from-sidecar");
  }, 30_000);

  test("kubelet restart adopts running containers without restarting them", async () => {
    const before = await get("web");
    const ids = before.status!.containerStatuses!.map((c) => c.containerID);
    const count = (await ours()).length;
    await kubelet.stop();
    kubelet = await startKubelet(api.client, rt, opts());
    await Bun.sleep(2000);
    const after = await get("web");
    expect(after.status!.containerStatuses!.map((c) => c.containerID)).toEqual(ids);
    expect(after.status!.containerStatuses!.map((c) => c.restartCount)).toEqual([0, 0]);
    expect((await ours()).filter((c) => c.state === "running").length).toBeLessThanOrEqual(count);
    expect(ready(after)).toBe(true);
  }, 30_000);

  test("graceful delete stops and removes the containers, then the pod", async () => {
    const pod = await get("web");
    const uid = pod.metadata.uid!;
    const seen: Array<{ type: string; pod: Pod }> = [];
    const w = podApi().watch("default", { fieldSelector: "metadata.name=web", resourceVersion: pod.metadata.resourceVersion }, (e) => seen.push({ type: e.type, pod: e.object as Pod }));
    await podApi().delete("default", "web");
    await eventually(async () => {
      try {
        await get("web");
        return false;
      } catch (e) {
        return (e as { code?: number }).code === 404;
      }
    }, 20_000, "web to be deleted");
    expect((await ours()).filter((c) => c.labels[LABELS.podUid] === uid)).toEqual([]);
    // The final status before the object went: both containers exited 0 on SIGTERM.
    await eventually(() => seen.some((e) => e.type === "DELETED"), 5000, "DELETED event");
    w.stop();
    const last = seen.filter((e) => e.type === "MODIFIED").at(-1)!.pod;
    expect(last.status!.phase).toBe("Succeeded");
    expect(last.status!.containerStatuses!.map((c) => c.state?.terminated?.exitCode)).toEqual([0, 0]);
  }, 30_000);
});
