// Persistent storage through the real kubectl on a real server whose embedded node runs pods on
// this machine's Docker engine: the built-in local-path StorageClass is the default, a claim
// naming no class is provisioned on the node of its first pod (WaitForFirstConsumer) and its data
// outlives the pod (also when a Deployment replaces its pod), a StatefulSet's claims from
// volumeClaimTemplates are bound and mounted and keep each ordinal's data across scaling to zero
// and back, a pod whose local volume lives on a node that is gone stays Pending with the
// scheduler's reason, and deleting a claim (reclaim Delete) removes the volume and its directory
// on the node.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { dockerForTests } from "../src/agent/runtime/docker/testing";
import { eventually as poll } from "./helpers/eventually";
import { removePodsOf, servingContainer, shContainer, startServerWithNode } from "./helpers/pods";
import { parseJson, type TestServer } from "./helpers/server";

const docker = await dockerForTests("persistent volume tests");
// Where a node's mount.nfs lives; with none, nfs volumes fail to mount with a clear event.
const NFS_HELPERS = ["/sbin/mount.nfs", "/usr/sbin/mount.nfs"];
setDefaultTimeout(90_000);
const NS = `pv-${Date.now().toString(36)}`;
let s: TestServer;

const eventually = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 60_000) => poll(what, f, { timeoutMs, intervalMs: 200, context: () => s?.log.slice(-5000) ?? "" });
const kc = (...args: string[]) => s.kubectl("-n", NS, ...args);
const must = async (...args: string[]) => {
  const r = await kc(...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const get = async (...args: string[]) => parseJson(await kc("get", ...args, "-o", "json"));
async function kubectlApply(obj: unknown) {
  const proc = Bun.spawn(["kubectl", "--kubeconfig", s.kubeconfig, "-n", NS, "apply", "-f", "-"], { stdin: new TextEncoder().encode(JSON.stringify(obj)), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = [await new Response(proc.stdout).text(), await new Response(proc.stderr).text(), await proc.exited];
  if (code !== 0) throw new Error(`kubectl apply: ${err}`);
  return out;
}

const podPhase = async (name: string) => (await get("pod", name).catch(() => undefined))?.status?.phase;
const finished = (name: string) => eventually(`pod ${name} Succeeded`, async () => (await podPhase(name)) === "Succeeded");

const claimVolume = (claimName: string, readOnly = false) => ({ name: "data", persistentVolumeClaim: { claimName, readOnly } });
const pod = (name: string, script: string, claimName: string, mount: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: {
    restartPolicy: "Never",
    terminationGracePeriodSeconds: 1,
    containers: [{ name: "main", ...shContainer(script), volumeMounts: [{ name: "data", mountPath: "/data", ...mount }] }],
    volumes: [claimVolume(claimName, !!mount.readOnly)],
  },
});

describe.skipIf(!docker)("persistent volumes on a real node", () => {
  beforeAll(async () => {
    s = await startServerWithNode(docker!);
    expect((await s.kubectl("create", "namespace", NS)).code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await s?.kubectl("delete", "namespace", NS, "--wait=false");
    await s?.cleanup();
    if (docker) await removePodsOf(docker, NS);
  }, 60_000);

  test("the built-in local-path class is the default, as k3s's", async () => {
    const out = await must("get", "storageclass");
    const lines = out.trim().split("\n");
    expect(lines[0]!.split(/\s+/)).toEqual(["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"]);
    expect(lines[1]!.split(/\s+/).slice(0, 6)).toEqual(["local-path", "(default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", "false"]);
  });

  let volumeDir = "";

  test("a claim is provisioned on its first pod's node; the data outlives the pod; a read-only mount cannot write", async () => {
    await kubectlApply({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "notes" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "64Mi" } } } });
    const pending = await get("pvc", "notes");
    expect(pending.spec.storageClassName).toBe("local-path");
    expect(pending.status.phase).toBe("Pending");

    await kubectlApply(pod("writer", "echo kept-across-pods > /data/note && mkdir -p /data/sub && echo in-sub > /data/sub/f", "notes"));
    await finished("writer");
    const claim = await get("pvc", "notes");
    expect(claim.status.phase).toBe("Bound");
    const pv = await get("pv", claim.spec.volumeName);
    expect(pv.spec.claimRef).toMatchObject({ namespace: NS, name: "notes" });
    expect(pv.spec.persistentVolumeReclaimPolicy).toBe("Delete");
    const node = (await get("pod", "writer")).spec.nodeName;
    expect(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values).toEqual([node]);
    expect(claim.metadata.annotations["volume.kubernetes.io/selected-node"]).toBe(node);
    volumeDir = pv.spec.hostPath.path;
    expect(volumeDir).toBe(join(s.dataDir, "storage", `${pv.metadata.name}_${NS}_notes`));
    expect(readFileSync(join(volumeDir, "note"), "utf8")).toBe("kept-across-pods\n");

    const table = (await s.kubectl("get", "pv", pv.metadata.name)).stdout.trim().split("\n");
    expect(table[0]!.split(/\s{2,}/)).toEqual(["NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]);
    expect(table[1]!.split(/\s+/).slice(0, 8)).toEqual([pv.metadata.name, "64Mi", "RWO", "Delete", "Bound", `${NS}/notes`, "local-path", "<unset>"]);

    await must("delete", "pod", "writer");
    await kubectlApply(pod("reader", "cat /data/note; if touch /data/other 2>/dev/null; then echo wrote; else echo read-only; fi", "notes", { readOnly: true }));
    await kubectlApply(pod("sub-reader", "cat /data/f", "notes", { subPath: "sub" }));
    await finished("reader");
    await finished("sub-reader");
    expect((await must("logs", "reader")).split("\n")).toEqual(["kept-across-pods", "read-only", ""]);
    expect(await must("logs", "sub-reader")).toBe("in-sub\n");
  });

  test("a Deployment's replacement pod reads what the deleted pod wrote on the claim", async () => {
    await kubectlApply({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "web-data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "16Mi" } } } });
    const script = "if [ -f /data/by ]; then echo found=$(cat /data/by); else echo $HOSTNAME > /data/by; echo wrote; fi";
    await kubectlApply({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "web", ...servingContainer(script), volumeMounts: [{ name: "data", mountPath: "/data" }] }], volumes: [claimVolume("web-data")] },
        },
      },
    });
    const runningWebPod = (not?: string) =>
      eventually("a running web pod", async () => {
        const items = (await get("pods", "-l", "app=web")).items as { metadata: { name: string; deletionTimestamp?: string }; status?: { phase?: string } }[];
        return items.find((p) => p.metadata.name !== not && !p.metadata.deletionTimestamp && p.status?.phase === "Running")?.metadata.name;
      });
    const first = await runningWebPod();
    await eventually("the first pod wrote", async () => (await must("logs", first)).includes("wrote"));
    await must("delete", "pod", first, "--wait=false");
    const second = await runningWebPod(first);
    await eventually("the replacement found the data", async () => (await must("logs", second)).includes(`found=${first}`));
    await must("delete", "deployment", "web");
  });

  test("a 3-replica StatefulSet's claims are bound and keep each ordinal's data across scale 3→0→3", async () => {
    const sts = (replicas: number) => ({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db" },
      spec: {
        serviceName: "db",
        replicas,
        podManagementPolicy: "Parallel",
        selector: { matchLabels: { app: "db" } },
        template: {
          metadata: { labels: { app: "db" } },
          spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "db", ...servingContainer("echo $HOSTNAME >> /data/boots; echo boots=$(tr '\\n' , < /data/boots)"), volumeMounts: [{ name: "data", mountPath: "/data" }] }] },
        },
        volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "32Mi" } } } }],
      },
    });
    const ordinals = ["db-0", "db-1", "db-2"];
    const logsSay = (boots: number) =>
      Promise.all(ordinals.map((name) => eventually(`${name} logged boot ${boots}`, async () => (await kc("logs", name)).stdout.includes(`boots=${Array(boots).fill(name + ",").join("")}`))));
    await kubectlApply(sts(3));
    await logsSay(1);
    const claims = await Promise.all(ordinals.map((name) => get("pvc", `data-${name}`)));
    expect(claims.map((c) => c.status.phase)).toEqual(["Bound", "Bound", "Bound"]);
    expect(new Set(claims.map((c) => c.spec.volumeName)).size).toBe(3);

    await must("scale", "statefulset", "db", "--replicas=0");
    await eventually("all db pods gone", async () => (await get("pods", "-l", "app=db")).items.length === 0);
    const kept = await Promise.all(ordinals.map((name) => get("pvc", `data-${name}`)));
    expect(kept.map((c) => [c.status.phase, c.spec.volumeName])).toEqual(claims.map((c) => ["Bound", c.spec.volumeName]));

    await must("scale", "statefulset", "db", "--replicas=3");
    await logsSay(2);
    const again = await Promise.all(ordinals.map((name) => get("pvc", `data-${name}`)));
    expect(again.map((c) => c.metadata.uid)).toEqual(claims.map((c) => c.metadata.uid));
    await must("delete", "statefulset", "db");

    // local-path does not allow expansion: growing a bound claim is refused as upstream's admission does.
    const grow = await kc("patch", "pvc", "data-db-0", "-p", JSON.stringify({ spec: { resources: { requests: { storage: "64Mi" } } } }));
    expect(grow.code).not.toBe(0);
    expect(grow.stderr).toContain('persistentvolumeclaims "data-db-0" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize');
  });

  test("a pod whose local volume's node is gone stays Pending with the reason; nothing is provisioned elsewhere", async () => {
    const pvName = `${NS}-departed`;
    await kubectlApply({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: pvName },
      spec: {
        capacity: { storage: "16Mi" },
        accessModes: ["ReadWriteOnce"],
        storageClassName: "local-path",
        persistentVolumeReclaimPolicy: "Retain",
        hostPath: { path: "/tmp/departed", type: "DirectoryOrCreate" },
        claimRef: { namespace: NS, name: "orphan" },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["departed-node"] }] }] } },
      },
    });
    await kubectlApply({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "orphan" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "16Mi" } } } });
    await eventually("the claim bound to the volume", async () => (await get("pvc", "orphan")).status?.phase === "Bound");
    await kubectlApply(pod("stranded", "cat /data/x", "orphan"));
    const ev = await eventually("a FailedScheduling event", async () => {
      const items = (await get("events", "--field-selector", "involvedObject.name=stranded")).items as { reason: string; message: string }[];
      return items.find((e) => e.reason === "FailedScheduling");
    });
    expect(ev.message).toContain("node(s) had volume node affinity conflict");
    const p = await get("pod", "stranded");
    expect(p.status.phase).toBe("Pending");
    expect(p.spec.nodeName).toBeUndefined();
    expect((await get("pvc", "orphan")).spec.volumeName).toBe(pvName);
    const volumes = parseJson(await s.kubectl("get", "pv", "-o", "json")).items as { spec: { claimRef?: { namespace?: string; name?: string } } }[];
    expect(volumes.filter((v) => v.spec.claimRef?.namespace === NS && v.spec.claimRef.name === "orphan").length).toBe(1);
    await must("delete", "pod", "stranded", "--grace-period=0", "--force");
    await must("delete", "pvc", "orphan", "--wait=false");
    await s.kubectl("delete", "pv", pvName, "--wait=false");
  });

  test("a ReadWriteOncePod claim in use keeps a second pod placed on the node by nodeName in ContainerCreating until the first is gone", async () => {
    await kubectlApply({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "solo" }, spec: { accessModes: ["ReadWriteOncePod"], resources: { requests: { storage: "16Mi" } } } });
    const first = pod("solo-1", "echo solo-1 > /data/who", "solo");
    first.spec.containers[0] = { ...first.spec.containers[0]!, ...servingContainer("echo solo-1 > /data/who") };
    await kubectlApply(first);
    await eventually("solo-1 running", async () => (await podPhase("solo-1")) === "Running");
    const second = pod("solo-2", "cat /data/who", "solo");
    await kubectlApply({ ...second, spec: { ...second.spec, nodeName: (await get("pod", "solo-1")).spec.nodeName } });
    const failed = await eventually("a FailedMount event for solo-2", async () => {
      const items = (await get("events", "--field-selector", "involvedObject.name=solo-2,reason=FailedMount")).items as { message: string }[];
      return items[0];
    });
    expect(failed.message).toContain("volume uses the ReadWriteOncePod access mode and is already in use by another pod");
    const waiting = await get("pod", "solo-2");
    expect(waiting.status.phase).toBe("Pending");
    expect(waiting.status.containerStatuses?.[0]?.state?.waiting?.reason).toBe("ContainerCreating");
    await must("delete", "pod", "solo-1", "--wait=false");
    await finished("solo-2");
    expect(await must("logs", "solo-2")).toBe("solo-1\n");
    await must("delete", "pod", "solo-2", "--wait=false");
  });

  test.skipIf(NFS_HELPERS.some((p) => existsSync(p)))("an nfs volume on a node without mount.nfs: the pod stays ContainerCreating with FailedMount events", async () => {
    await kubectlApply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "nfs-user" },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "main", ...shContainer("ls /data"), volumeMounts: [{ name: "share", mountPath: "/data" }] }], volumes: [{ name: "share", nfs: { server: "192.0.2.10", path: "/export" } }] },
    });
    const ev = await eventually("a FailedMount event for nfs-user", async () => {
      const items = (await get("events", "--field-selector", "involvedObject.name=nfs-user,reason=FailedMount")).items as { message: string; type: string }[];
      return items[0];
    });
    expect(ev.type).toBe("Warning");
    expect(ev.message).toContain("mount.nfs is not installed on this node (install nfs-common or nfs-utils) to mount 192.0.2.10:/export");
    const p = await get("pod", "nfs-user");
    expect(p.status.phase).toBe("Pending");
    expect(p.status.containerStatuses?.[0]?.state?.waiting?.reason).toBe("ContainerCreating");
    await must("delete", "pod", "nfs-user", "--grace-period=0", "--force");
  });

  test("deleting a claim with reclaim policy Delete removes its volume and the directory on the node", async () => {
    const pvName = (await get("pvc", "notes")).spec.volumeName;
    await must("delete", "pod", "reader", "sub-reader");
    await must("delete", "pvc", "notes", "--wait=false");
    await eventually("the volume deleted", async () => (await s.kubectl("get", "pv", pvName)).code !== 0 && (await s.kubectl("get", "pv", pvName)).stderr.includes("NotFound"));
    expect(existsSync(volumeDir)).toBe(false);
    expect((await kc("get", "pvc", "notes")).code).not.toBe(0);
  });
});
