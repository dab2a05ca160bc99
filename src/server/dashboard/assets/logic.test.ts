import { expect, test } from "bun:test";
import { cpuMillis as apiCpuMillis, memoryBytes as apiMemoryBytes } from "../../../api/quantity";
import { LineSplitter, cpuMillis, foldEvent, formatCpu, formatMem, memoryBytes, metricsUsage, nodeBin, podRequests, podStatus, rollout, tokenFrom } from "./logic";

test("quantities parse as the API server's parser reads them", () => {
  for (const q of ["250m", "1", "1.5", "2", "100n", "1u", "0.1", "3k", "64Mi", "1Gi", "1.5Gi", "512Ki", "1G", "2e3", "1E6", "128974848", "129e6", "129M", "123Mi", "0"]) {
    expect([q, cpuMillis(q)]).toEqual([q, apiCpuMillis(q)]);
    expect([q, memoryBytes(q)]).toEqual([q, apiMemoryBytes(q)]);
  }
  expect(cpuMillis(undefined)).toBe(0);
  expect(cpuMillis("lots")).toBeNaN();
});

const pod = (name: string, node: string | undefined, cpu: string, mem: string, extra: Record<string, any> = {}) => ({
  metadata: { name, namespace: "default", resourceVersion: "1" },
  spec: { nodeName: node, containers: [{ name: "c", resources: { requests: { cpu, memory: mem } } }] },
  status: { phase: "Running" },
  ...extra,
});

test("a pod's requests: containers summed, the largest init container, sidecars beside, overhead added", () => {
  const p = {
    metadata: { name: "p" },
    spec: {
      containers: [{ resources: { requests: { cpu: "100m", memory: "64Mi" } } }, { resources: { requests: { cpu: "200m" } } }],
      initContainers: [{ resources: { requests: { cpu: "1", memory: "32Mi" } } }, { restartPolicy: "Always", resources: { requests: { cpu: "50m", memory: "16Mi" } } }],
      overhead: { cpu: "10m", memory: "1Mi" },
    },
  };
  expect(podRequests(p)).toEqual({ cpu: 1000 + 10, mem: (64 + 16 + 1) * 2 ** 20 });
  expect(podRequests({ metadata: { name: "empty" }, spec: { containers: [{}] } })).toEqual({ cpu: 0, mem: 0 });
});

test("a node's bin: allocatable is the size, pods stack largest first, usage on top, overcommit cut at the edge", () => {
  const node = { metadata: { name: "n1" }, status: { allocatable: { cpu: "4", memory: "8Gi" }, capacity: { cpu: "8", memory: "16Gi" } } };
  const pods = [pod("small", "n1", "500m", "1Gi"), pod("big", "n1", "1", "2Gi"), pod("elsewhere", "n2", "1", "1Gi"), pod("done", "n1", "2", "1Gi", { status: { phase: "Succeeded" } }), pod("pending", undefined, "1", "1Gi")];
  const bin = nodeBin(node, pods, { cpu: 1000, mem: 2 * 2 ** 30 });
  expect(bin.allocatable).toEqual({ cpu: 4000, mem: 8 * 2 ** 30 });
  expect(bin.requested).toEqual({ cpu: 1500, mem: 3 * 2 ** 30 });
  expect(bin.segments.map((s) => [s.name, s.cpu, s.mem])).toEqual([
    ["big", { offset: 0, width: 25 }, { offset: 0, width: 25 }],
    ["small", { offset: 25, width: 12.5 }, { offset: 25, width: 12.5 }],
  ]);
  expect(bin.requestedPct).toEqual({ cpu: 37.5, mem: 37.5 });
  expect(bin.usagePct).toEqual({ cpu: 25, mem: 25 });

  const full = nodeBin(node, [pod("a", "n1", "3", "1Gi"), pod("b", "n1", "2", "1Gi")]);
  expect(full.requestedPct.cpu).toBe(125);
  expect(full.segments.map((s) => s.cpu)).toEqual([{ offset: 0, width: 75 }, { offset: 75, width: 25 }]);
  expect(full.usagePct).toBeUndefined();
  // No allocatable reported yet: nothing divides by zero.
  expect(nodeBin({ metadata: { name: "n1" } }, [pod("a", "n1", "1", "1Gi")]).segments[0]!.cpu).toEqual({ offset: 0, width: 0 });
});

test("metrics items: a node's usage, a pod's containers summed", () => {
  expect(metricsUsage({ metadata: { name: "n" }, usage: { cpu: "250m", memory: "1Gi" } })).toEqual({ cpu: 250, mem: 2 ** 30 });
  expect(metricsUsage({ metadata: { name: "p" }, containers: [{ usage: { cpu: "1500000n", memory: "1Mi" } }, { usage: { cpu: "1m", memory: "1Ki" } }] })).toEqual({ cpu: 3, mem: 2 ** 20 + 1024 });
  expect([formatCpu(1500), formatCpu(2000), formatCpu(1234), formatMem(3 * 2 ** 30), formatMem(1536 * 2 ** 20), formatMem(100)]).toEqual(["1.5", "2", "1234m", "3Gi", "1.5Gi", "100"]);
});

test("rollout state of each workload kind", () => {
  const meta = { name: "w", namespace: "default", generation: 2 };
  expect(rollout("Deployment", { metadata: meta, spec: { replicas: 3 }, status: { observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3 } })).toEqual({ ready: 3, desired: 3, state: "ready" });
  expect(rollout("Deployment", { metadata: meta, spec: { replicas: 5 }, status: { observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3 } })).toEqual({ ready: 3, desired: 5, state: "progressing" });
  expect(rollout("Deployment", { metadata: meta, spec: { replicas: 3 }, status: { observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3 } }).state).toBe("progressing");
  expect(rollout("Deployment", { metadata: meta, spec: { replicas: 1 }, status: { conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }] } }).state).toBe("failed");
  expect(rollout("StatefulSet", { metadata: meta, spec: { replicas: 2 }, status: { observedGeneration: 2, replicas: 2, currentReplicas: 2, readyReplicas: 1 } })).toEqual({ ready: 1, desired: 2, state: "progressing" });
  expect(rollout("DaemonSet", { metadata: meta, status: { observedGeneration: 2, desiredNumberScheduled: 2, numberReady: 2, updatedNumberScheduled: 2 } })).toEqual({ ready: 2, desired: 2, state: "ready" });
  expect(rollout("Job", { metadata: meta, spec: { completions: 3 }, status: { succeeded: 3, conditions: [{ type: "Complete", status: "True" }] } })).toEqual({ ready: 3, desired: 3, state: "complete" });
  expect(rollout("Job", { metadata: meta, spec: {}, status: { conditions: [{ type: "Failed", status: "True" }] } })).toEqual({ ready: 0, desired: 1, state: "failed" });
});

test("pod status as kubectl shows it: waiting reasons, init containers, terminating; restarts summed", () => {
  const base = { metadata: { name: "p", namespace: "d" }, spec: { containers: [{ name: "a" }, { name: "b" }] } };
  expect(podStatus({ ...base, status: { phase: "Running", containerStatuses: [{ ready: true, restartCount: 1, state: { running: {} } }, { ready: false, restartCount: 4, state: { waiting: { reason: "CrashLoopBackOff" } } }] } })).toEqual({
    status: "CrashLoopBackOff",
    restarts: 5,
    ready: "1/2",
  });
  expect(podStatus({ ...base, status: { phase: "Pending", initContainerStatuses: [{ state: { waiting: { reason: "PodInitializing" } } }] } }).status).toBe("Init:PodInitializing");
  expect(podStatus({ ...base, metadata: { ...base.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" }, status: { phase: "Running" } }).status).toBe("Terminating");
  expect(podStatus({ ...base }).status).toBe("Pending");
});

test("watch events fold into the map; bookmarks move the resourceVersion; ERROR means list again", () => {
  const m = new Map<string, any>();
  expect(foldEvent(m, { type: "ADDED", object: pod("a", "n", "1", "1") })).toBe("1");
  expect(foldEvent(m, { type: "MODIFIED", object: { ...pod("a", "n", "2", "1"), metadata: { name: "a", namespace: "default", resourceVersion: "5" } } })).toBe("5");
  expect(m.get("default/a").spec.containers[0].resources.requests.cpu).toBe("2");
  expect(foldEvent(m, { type: "BOOKMARK", object: { metadata: { name: "", resourceVersion: "9" } } })).toBe("9");
  expect(m.size).toBe(1);
  expect(foldEvent(m, { type: "DELETED", object: { metadata: { name: "a", namespace: "default", resourceVersion: "10" } } })).toBe("10");
  expect(m.size).toBe(0);
  expect(foldEvent(m, { type: "ERROR", object: { kind: "Status", code: 410 } as any })).toBe("expired");
});

test("a watch stream's chunks split into whole lines", () => {
  const s = new LineSplitter();
  expect(s.push('{"a":1}\n{"b"')).toEqual(['{"a":1}']);
  expect(s.push(":2}\n\n")).toEqual(['{"b":2}']);
  expect(s.push("")).toEqual([]);
});

test("the token in what was pasted: a bare token, a YAML or JSON kubeconfig's current user", () => {
  expect(tokenFrom("  abc.def-123  \n")).toBe("abc.def-123");
  expect(tokenFrom("")).toBeUndefined();
  const yaml = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: AAAA
    server: https://10.0.0.1:6443
  name: bramble
contexts:
- context:
    cluster: bramble
    user: viewer
  name: view
- context:
    cluster: bramble
    user: admin
  name: default
current-context: default
kind: Config
users:
- name: viewer
  user:
    token: viewer-token
- name: admin
  user:
    token: "admin-token"
`;
  expect(tokenFrom(yaml)).toBe("admin-token");
  expect(tokenFrom(yaml.replace("current-context: default", "current-context: view"))).toBe("viewer-token");
  expect(tokenFrom(yaml.replace(/current-context: default\n/, ""))).toBe("viewer-token");
  expect(tokenFrom("users:\n- name: x\n  user:\n    client-certificate-data: AAA\n")).toBeUndefined();
  const json = { "current-context": "c", contexts: [{ name: "c", context: { user: "u2" } }], users: [{ name: "u1", user: { token: "t1" } }, { name: "u2", user: { token: "t2" } }] };
  expect(tokenFrom(JSON.stringify(json, null, 2))).toBe("t2");
});
