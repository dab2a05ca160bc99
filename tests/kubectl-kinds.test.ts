// The workload, policy and storage kinds as a new user meets them with the real kubectl:
// `api-resources` prints the rows upstream 1.32 prints, `get all` lists exactly the kinds in the
// `all` category, and `describe`, `explain` and `get -o wide` work for every one of them.
// One server with a simulated node.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { eventually } from "./helpers/eventually";
import { startSimNodes, type SimNodes } from "./helpers/sim";
import { startTestServer, type TestServer } from "./helpers/server";

let server: TestServer;
let sim: SimNodes | undefined;

const kubectl = async (...args: string[]) => {
  const r = await server.kubectl(...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

const MANIFESTS = `
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completions: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: pi, image: busybox, command: ["sh", "-c", "echo hi"]}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: hello, image: busybox, command: ["date"]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: nginx, ports: [{containerPort: 80, name: web}]}]
---
apiVersion: v1
kind: ReplicationController
metadata: {name: nginx-rc}
spec:
  replicas: 1
  selector: {app: nginx-rc}
  template:
    metadata: {labels: {app: nginx-rc}}
    spec:
      containers: [{name: nginx, image: nginx}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web-pdb}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000000
description: for the important ones
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: quota}
spec:
  hard: {pods: "10", limits.memory: 8Gi}
---
apiVersion: v1
kind: LimitRange
metadata: {name: limits}
spec:
  limits:
  - type: Container
    default: {memory: 256Mi}
    defaultRequest: {memory: 64Mi}
  - type: PersistentVolumeClaim
    min: {storage: 1Gi}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 2Gi}}
`;

beforeAll(async () => {
  server = await startTestServer({ args: ["--disable-agent"] });
  sim = startSimNodes(server, 1, "--cpu", "4", "--memory", "8Gi");
  const r = await server.kubectlWith({ stdin: MANIFESTS }, "apply", "-f", "-");
  if (r.code !== 0) throw new Error(`apply: ${r.stderr}`);
}, 60_000);

afterAll(async () => {
  await sim?.kill();
  await server?.cleanup();
});

test("api-resources prints upstream's row for every kind", async () => {
  const rows = (await kubectl("api-resources", "--no-headers")).trim().split("\n").map((l) => l.trim().split(/\s+/));
  const byName = new Map(rows.map((r) => [r[0], r.length === 5 ? r : [r[0], "", ...r.slice(1)]]));
  // NAME SHORTNAMES APIVERSION NAMESPACED KIND, as upstream 1.32 prints them.
  const expected = [
    ["jobs", "", "batch/v1", "true", "Job"],
    ["cronjobs", "cj", "batch/v1", "true", "CronJob"],
    ["statefulsets", "sts", "apps/v1", "true", "StatefulSet"],
    ["controllerrevisions", "", "apps/v1", "true", "ControllerRevision"],
    ["replicationcontrollers", "rc", "v1", "true", "ReplicationController"],
    ["poddisruptionbudgets", "pdb", "policy/v1", "true", "PodDisruptionBudget"],
    ["priorityclasses", "pc", "scheduling.k8s.io/v1", "false", "PriorityClass"],
    ["resourcequotas", "quota", "v1", "true", "ResourceQuota"],
    ["limitranges", "limits", "v1", "true", "LimitRange"],
    ["persistentvolumeclaims", "pvc", "v1", "true", "PersistentVolumeClaim"],
    ["persistentvolumes", "pv", "v1", "false", "PersistentVolume"],
    ["storageclasses", "sc", "storage.k8s.io/v1", "false", "StorageClass"],
    ["endpointslices", "", "discovery.k8s.io/v1", "true", "EndpointSlice"],
    ["horizontalpodautoscalers", "hpa", "autoscaling/v2", "true", "HorizontalPodAutoscaler"],
    ["roles", "", "rbac.authorization.k8s.io/v1", "true", "Role"],
    ["clusterroles", "", "rbac.authorization.k8s.io/v1", "false", "ClusterRole"],
    ["rolebindings", "", "rbac.authorization.k8s.io/v1", "true", "RoleBinding"],
    ["clusterrolebindings", "", "rbac.authorization.k8s.io/v1", "false", "ClusterRoleBinding"],
    ["selfsubjectaccessreviews", "", "authorization.k8s.io/v1", "false", "SelfSubjectAccessReview"],
    ["pods", "", "metrics.k8s.io/v1beta1", "true", "PodMetrics"],
  ];
  for (const row of expected) expect(byName.get(row[0]!)).toEqual(row);
  // The `all` category, as upstream.
  const all = (await kubectl("api-resources", "--categories=all", "-o", "name")).trim().split("\n").sort();
  expect(all).toEqual(["cronjobs.batch", "daemonsets.apps", "deployments.apps", "horizontalpodautoscalers.autoscaling", "jobs.batch", "pods", "replicasets.apps", "replicationcontrollers", "services", "statefulsets.apps"]);
}, 20_000);

test("get all lists the workloads and nothing else", async () => {
  const kinds = await eventually("the job's and the set's pods", async () => {
    const out = await kubectl("get", "all", "-o", "name");
    const k = new Set(out.trim().split("\n").map((l) => l.split("/")[0]));
    return k.has("pod") ? k : undefined;
  }, { timeoutMs: 15_000, intervalMs: 200 });
  for (const k of ["job.batch", "cronjob.batch", "statefulset.apps", "replicationcontroller", "service", "pod"]) expect(kinds).toContain(k);
  for (const k of ["poddisruptionbudget.policy", "resourcequota", "limitrange", "persistentvolumeclaim", "controllerrevision.apps"]) expect(kinds).not.toContain(k);
}, 20_000);

test("describe shows what kubectl's describer for each kind reads", async () => {
  const checks: [string[], RegExp[]][] = [
    [["job", "pi"], [/Completions:\s+2/, /Pods Statuses:\s+\d+ Active .*\/ \d+ Succeeded \/ \d+ Failed/, /Completion Mode:\s+NonIndexed/]],
    [["cronjob", "hello"], [/Schedule:\s+\*\/5 \* \* \* \*/, /Concurrency Policy:\s+Allow/, /Suspend:\s+False/]],
    [["statefulset", "web"], [/Replicas:\s+1 desired \| \d+ total/, /Pods Status:\s+\d+ Running/, /Update Strategy:\s+RollingUpdate/]],
    [["rc", "nginx-rc"], [/Selector:\s+app=nginx-rc/, /Replicas:\s+\d+ current \/ 1 desired/, /Pods Status:/]],
    [["pdb", "web-pdb"], [/Min available:\s+1/, /Selector:\s+app=web/, /Allowed disruptions:\s+\d+/]],
    [["priorityclass", "high"], [/Value:\s+1000000/, /GlobalDefault:\s+false/, /Description:\s+for the important ones/]],
    [["quota", "quota"], [/Resource\s+Used\s+Hard/, /limits.memory\s+\S+\s+8Gi/, /pods\s+\d+\s+10/]],
    [["limitrange", "limits"], [/Container\s+memory\s+-\s+-\s+64Mi\s+256Mi\s+-/, /PersistentVolumeClaim\s+storage\s+1Gi\s+-/]],
    [["pvc", "data"], [/Status:\s+Pending/, /VolumeMode:\s+Filesystem/]],
    [["controllerrevisions"], [/Revision:\s+1/, /Kind:\s+StatefulSet/]],
  ];
  await Promise.all(
    checks.map(async ([args, patterns]) => {
      const out = await kubectl("describe", ...args);
      for (const p of patterns) expect(out).toMatch(p);
    }),
  );
}, 20_000);

test("explain shows every kind and its spec fields with upstream's types", async () => {
  const checks: [string, RegExp[]][] = [
    ["jobs", [/KIND:\s+Job/, /spec\t<JobSpec>\n\s+The desired state of the Job/, /status\t<JobStatus>/]],
    ["statefulsets.spec", [/FIELD: spec <StatefulSetSpec>/, /selector\t<LabelSelector> -required-/, /template\t<PodTemplateSpec> -required-/]],
    ["jobs.spec.completions", [/FIELD: completions <integer>/]],
    ["jobs.spec", [/podFailurePolicy\t<PodFailurePolicy>/, /successPolicy\t<SuccessPolicy>/]],
    ["statefulsets.spec.updateStrategy", [/FIELD: updateStrategy <StatefulSetUpdateStrategy>/, /rollingUpdate\t<RollingUpdateStatefulSetStrategy>/]],
    ["persistentvolumeclaims.spec", [/resources\t<VolumeResourceRequirements>/, /dataSource\t<TypedLocalObjectReference>/]],
    ["cronjobs.spec.schedule", [/FIELD: schedule <string>/, /DESCRIPTION:\n\s+When to run, in cron format/]],
    ["statefulsets.spec.volumeClaimTemplates", [/FIELD: volumeClaimTemplates <\[\]PersistentVolumeClaim>/, /spec\t<PersistentVolumeClaimSpec>/]],
    ["cronjobs.spec.jobTemplate.spec", [/FIELD: spec <JobSpec>/]],
    ["controllerrevisions.revision", [/FIELD: revision <integer>/]],
    ["replicationcontrollers.spec.selector", [/FIELD: selector <map\[string\]string>/]],
    ["poddisruptionbudgets.spec.minAvailable", [/FIELD: minAvailable <IntOrString>/]],
    ["priorityclasses.value", [/FIELD: value <integer>/]],
    ["resourcequotas.spec.hard", [/FIELD: hard <map\[string\]Quantity>/]],
    ["limitranges.spec.limits", [/FIELD: limits <\[\]LimitRangeItem>/, /type\t<string> -required-/, /default\t<map\[string\]Quantity>/]],
    ["persistentvolumeclaims.spec.resources.requests", [/FIELD: requests <map\[string\]Quantity>/]],
  ];
  await Promise.all(
    checks.map(async ([path, patterns]) => {
      const out = await kubectl("explain", path);
      for (const p of patterns) expect(out).toMatch(p);
    }),
  );
}, 20_000);

test("get -o wide prints upstream's columns", async () => {
  const headers: [string, string[]][] = [
    ["jobs", ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]],
    ["cronjobs", ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]],
    ["statefulsets", ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]],
    ["controllerrevisions", ["NAME", "CONTROLLER", "REVISION", "AGE"]],
    ["replicationcontrollers", ["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]],
    ["poddisruptionbudgets", ["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"]],
    ["priorityclasses", ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]],
    ["resourcequotas", ["NAME", "AGE", "REQUEST", "LIMIT"]],
    ["limitranges", ["NAME", "CREATED AT"]],
    ["persistentvolumeclaims", ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE", "VOLUMEMODE"]],
  ];
  await Promise.all(
    headers.map(async ([kind, columns]) => {
      const out = await kubectl("get", kind, "-o", "wide");
      expect(out.split("\n")[0]!.trim().split(/\s{2,}/)).toEqual(columns);
    }),
  );
}, 20_000);

test("kubectl debug adds an ephemeral container that describe shows running", async () => {
  await kubectl("run", "debugged", "--image=nginx");
  await eventually("debugged Running", async () => (await kubectl("get", "pod", "debugged", "-o", "jsonpath={.status.phase}")) === "Running", { timeoutMs: 15_000, intervalMs: 200 });
  await kubectl("debug", "debugged", "--image=busybox", "--container=dbg", "--profile=general", "--", "sleep", "100");
  const described = await eventually("the ephemeral container running", async () => {
    const out = await kubectl("describe", "pod", "debugged");
    return /Ephemeral Containers:\n\s+dbg:[\s\S]*State:\s+Running/.test(out) ? out : undefined;
  }, { timeoutMs: 15_000, intervalMs: 200 });
  expect(described).toMatch(/Ephemeral Containers:\n\s+dbg:[\s\S]*Ready:\s+False/);
}, 30_000);
