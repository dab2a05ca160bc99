import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jobs as jobsDef, type Job } from "../../../api/resources/batch/job";
import { JOB_TRACKING_FINALIZER } from "../../../api/resources/batch/labels";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import type { ResourceClient } from "../../../client/client";
import { eventually, getOrUndefined } from "../controllertest";
import { startGarbageCollector } from "../gc";
import { createNamespace, startTestEnv, type TestEnv } from "../replicaset/testing";
import { JobController } from "./controller";
import { JobKubelet } from "./testing";

let env: TestEnv;
let controller: JobController;
let kubelet: JobKubelet;
let gc: { stop(): Promise<void> };
let jobClient: ResourceClient<Job>;
let podClient: ResourceClient<Pod>;
const backoff = { baseMs: 50, maxMs: 400 };

beforeAll(async () => {
  env = await startTestEnv();
  jobClient = env.client.resource<Job>(jobsDef);
  podClient = env.client.resource<Pod>(podsDef);
  kubelet = await new JobKubelet(env.client).start();
  controller = new JobController(env.client, { backoff });
  await controller.start();
  gc = await startGarbageCollector(env.client);
});

afterAll(async () => {
  await gc.stop();
  await controller.stop();
  await kubelet.stop();
  await env.stop();
});

const job = (name: string, spec: Partial<NonNullable<Job["spec"]>> = {}, template: Partial<NonNullable<Job["spec"]>["template"]["spec"]> = {}): Job =>
  ({
    metadata: { name },
    spec: {
      ...spec,
      template: { spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox", command: ["true"] }], ...template } },
    },
  }) as Job;

const podsOf = async (ns: string, j: Job) => (await podClient.list(ns)).items.filter((p) => p.metadata.ownerReferences?.[0]?.uid === j.metadata.uid);
const condition = (j: Job, type: string) => j.status?.conditions?.find((c) => c.type === type && c.status === "True");
const finished = (ns: string, name: string, type: "Complete" | "Failed") =>
  eventually(async () => {
    const j = await jobClient.get(ns, name);
    return condition(j, type) ? j : undefined;
  }, `job ${name} ${type}`, 400);
const eventsFor = async (ns: string, name: string) =>
  (await env.client.resource<any>({ group: "", version: "v1", plural: "events", namespaced: true }).list(ns)).items
    .filter((e: any) => e.involvedObject?.name === name && e.involvedObject?.kind === "Job")
    .map((e: any) => `${e.type} ${e.reason} ${e.message}`);

describe("job controller", () => {
  test("runs completions with parallelism to Complete, counting every pod once and releasing it", async () => {
    const ns = "job-basic";
    await createNamespace(env.client, ns);
    const created = await jobClient.create(ns, job("work", { completions: 3, parallelism: 2 }));
    const done = await finished(ns, "work", "Complete");
    expect(done.status).toMatchObject({ succeeded: 3, terminating: 0, ready: 0, uncountedTerminatedPods: {} });
    expect(done.status?.failed).toBeUndefined();
    expect(done.status?.startTime).toBeDefined();
    expect(done.status?.completionTime).toBeDefined();
    expect(done.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
      ["SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods"],
      ["Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods"],
    ]);
    const pods = await podsOf(ns, created);
    expect(pods.length).toBe(3);
    for (const p of pods) {
      expect(p.metadata.finalizers ?? []).not.toContain(JOB_TRACKING_FINALIZER);
      expect(p.metadata.name).toStartWith("work-");
      expect(p.metadata.labels?.["batch.kubernetes.io/job-name"]).toBe("work");
      expect(p.metadata.ownerReferences?.[0]).toMatchObject({ apiVersion: "batch/v1", kind: "Job", name: "work", controller: true, blockOwnerDeletion: true });
    }
    const events = await eventually(async () => {
      const ev = await eventsFor(ns, "work");
      return ev.some((e) => e.startsWith("Normal Completed")) ? ev : undefined;
    });
    expect(events.filter((e) => e.startsWith("Normal SuccessfulCreate Created pod: work-")).length).toBe(3);
    expect(events).toContain("Normal Completed Job completed");
  });

  test("Indexed: one pod per index with the index as annotation, label, env and hostname", async () => {
    const ns = "job-indexed";
    await createNamespace(env.client, ns);
    const created = await jobClient.create(ns, job("ix", { completions: 3, parallelism: 3, completionMode: "Indexed" }));
    const done = await finished(ns, "ix", "Complete");
    expect(done.status).toMatchObject({ succeeded: 3, completedIndexes: "0-2" });
    const pods = (await podsOf(ns, created)).sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
    expect(pods.map((p) => p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"])).toEqual(["0", "1", "2"]);
    expect(pods.map((p) => p.metadata.labels?.["batch.kubernetes.io/job-completion-index"])).toEqual(["0", "1", "2"]);
    expect(pods.map((p) => p.spec?.hostname)).toEqual(["ix-0", "ix-1", "ix-2"]);
    expect(pods[1]!.metadata.name).toStartWith("ix-1-");
    expect(pods[0]!.spec?.containers[0]!.env).toContainEqual({
      name: "JOB_COMPLETION_INDEX",
      valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.labels['batch.kubernetes.io/job-completion-index']" } },
    });
  });

  test("backoffLimit: failed pods are replaced after a backoff until the limit, then FailureTarget and Failed", async () => {
    const ns = "job-backoff";
    await createNamespace(env.client, ns);
    kubelet.outcome = (p) => (p.metadata.namespace === ns ? { exitCode: 1 } : { exitCode: 0 });
    try {
      const created = await jobClient.create(ns, job("flaky", { backoffLimit: 2 }));
      const done = await finished(ns, "flaky", "Failed");
      expect(done.status).toMatchObject({ failed: 3, uncountedTerminatedPods: {} });
      expect(done.status?.completionTime).toBeUndefined();
      expect(done.status?.conditions?.map((c) => [c.type, c.reason, c.message])).toEqual([
        ["FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit"],
        ["Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit"],
      ]);
      expect((await podsOf(ns, created)).length).toBe(3);
      expect(kubelet.started.filter((p) => p.metadata.namespace === ns).length).toBe(3);
      await eventually(async () => (await eventsFor(ns, "flaky")).includes("Warning BackoffLimitExceeded Job has reached the specified backoff limit"));
    } finally {
      kubelet.outcome = () => ({ exitCode: 0 });
    }
  });

  test("podFailurePolicy: Ignore does not count, FailJob fails the Job at once with the rule's message", async () => {
    const ns = "job-pfp";
    await createNamespace(env.client, ns);
    let attempts = 0;
    kubelet.outcome = (p) => {
      if (p.metadata.namespace !== ns) return { exitCode: 0 };
      attempts++;
      return attempts === 1 ? { exitCode: 1, conditions: [{ type: "DisruptionTarget", status: "True" }] } : { exitCode: 42 };
    };
    try {
      await jobClient.create(
        ns,
        job("policy", {
          backoffLimit: 6,
          podFailurePolicy: {
            rules: [
              { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget" }] },
              { action: "FailJob", onExitCodes: { operator: "In", values: [42] } },
            ],
          },
        }),
      );
      const done = await finished(ns, "policy", "Failed");
      const failed = condition(done, "Failed")!;
      expect(failed.reason).toBe("PodFailurePolicy");
      expect(failed.message).toMatch(/^Container main for pod job-pfp\/policy-[a-z0-9]+ failed with exit code 42 matching FailJob rule at index 1$/);
      expect(done.status?.failed).toBe(1); // the ignored failure is not counted
    } finally {
      kubelet.outcome = () => ({ exitCode: 0 });
    }
  });

  test("backoffLimitPerIndex: a failing index is marked failed, the others complete, the Job fails with FailedIndexes", async () => {
    const ns = "job-perindex";
    await createNamespace(env.client, ns);
    kubelet.outcome = (p) => (p.metadata.namespace === ns && p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"] === "1" ? { exitCode: 3 } : { exitCode: 0 });
    try {
      const created = await jobClient.create(ns, job("per", { completions: 3, parallelism: 3, completionMode: "Indexed", backoffLimitPerIndex: 1 }));
      const done = await finished(ns, "per", "Failed");
      expect(done.status).toMatchObject({ completedIndexes: "0,2", failedIndexes: "1", failed: 2, succeeded: 2 });
      expect(condition(done, "Failed")?.reason).toBe("FailedIndexes");
      const second = (await podsOf(ns, created)).filter((p) => p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"] === "1");
      expect(second.map((p) => p.metadata.annotations?.["batch.kubernetes.io/job-index-failure-count"]).sort()).toEqual(["0", "1"]);

      await jobClient.create(ns, job("max", { completions: 4, parallelism: 1, completionMode: "Indexed", backoffLimitPerIndex: 0, maxFailedIndexes: 0 }));
      const stopped = await finished(ns, "max", "Failed");
      expect(condition(stopped, "Failed")).toMatchObject({ reason: "MaxFailedIndexesExceeded", message: "Job has exceeded the specified maximal number of failed indexes" });
      expect(stopped.status?.failedIndexes).toBe("1");
    } finally {
      kubelet.outcome = () => ({ exitCode: 0 });
    }
  });

  test("podFailurePolicy FailIndex fails the index at its first failure, whatever its backoffLimitPerIndex", async () => {
    const ns = "job-failindex";
    await createNamespace(env.client, ns);
    kubelet.outcome = (p) => (p.metadata.namespace === ns && p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"] === "0" ? { exitCode: 5 } : { exitCode: 0 });
    try {
      const created = await jobClient.create(
        ns,
        job("fi", {
          completions: 2,
          parallelism: 2,
          completionMode: "Indexed",
          backoffLimitPerIndex: 3,
          podFailurePolicy: { rules: [{ action: "FailIndex", onExitCodes: { operator: "In", values: [5] } }] },
        }),
      );
      const done = await finished(ns, "fi", "Failed");
      expect(done.status).toMatchObject({ failedIndexes: "0", completedIndexes: "1", failed: 1, succeeded: 1 });
      expect(condition(done, "Failed")?.reason).toBe("FailedIndexes");
      expect((await podsOf(ns, created)).length).toBe(2);
    } finally {
      kubelet.outcome = () => ({ exitCode: 0 });
    }
  });

  test("activeDeadlineSeconds: running pods are stopped and the Job fails with DeadlineExceeded", async () => {
    const ns = "job-deadline";
    await createNamespace(env.client, ns);
    kubelet.outcome = (p) => (p.metadata.namespace === ns ? "run" : { exitCode: 0 });
    try {
      const created = await jobClient.create(ns, job("slow", { activeDeadlineSeconds: 1, parallelism: 2, completions: 2 }));
      const done = await finished(ns, "slow", "Failed");
      expect(condition(done, "Failed")).toMatchObject({ reason: "DeadlineExceeded", message: "Job was active longer than specified deadline" });
      expect(done.status?.active).toBeUndefined();
      for (const p of await podsOf(ns, created)) expect(p.status?.phase).toBe("Failed");
    } finally {
      kubelet.outcome = () => ({ exitCode: 0 });
    }
  });

  test("suspend: no pods while suspended; resuming starts them and the clock; suspending again deletes them", async () => {
    const ns = "job-suspend";
    await createNamespace(env.client, ns);
    kubelet.outcome = (p) => (p.metadata.namespace === ns ? "run" : { exitCode: 0 });
    try {
      const created = await jobClient.create(ns, job("later", { suspend: true, parallelism: 2, completions: 4 }));
      const suspended = await eventually(async () => {
        const j = await jobClient.get(ns, "later");
        return condition(j, "Suspended") ? j : undefined;
      });
      expect(condition(suspended, "Suspended")).toMatchObject({ reason: "JobSuspended", message: "Job suspended" });
      expect(suspended.status?.startTime).toBeUndefined();
      expect(await podsOf(ns, created)).toEqual([]);

      await jobClient.patch(ns, "later", { spec: { suspend: false } });
      const resumed = await eventually(async () => {
        const j = await jobClient.get(ns, "later");
        return j.status?.active === 2 ? j : undefined;
      });
      expect(resumed.status?.conditions?.find((c) => c.type === "Suspended")).toMatchObject({ status: "False", reason: "JobResumed", message: "Job resumed" });
      expect(resumed.status?.startTime).toBeDefined();

      await jobClient.patch(ns, "later", { spec: { suspend: true } });
      const again = await eventually(async () => {
        const j = await jobClient.get(ns, "later");
        return condition(j, "Suspended") && !j.status?.active && !j.status?.terminating ? j : undefined;
      });
      expect(again.status?.startTime).toBeUndefined();
      const active = (await podsOf(ns, created)).filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === "Running");
      expect(active).toEqual([]);
      const events = await eventsFor(ns, "later");
      expect(events).toContain("Normal Suspended Job suspended");
      expect(events).toContain("Normal Resumed Job resumed");
    } finally {
      kubelet.outcome = () => ({ exitCode: 0 });
    }
  });

  test("successPolicy: the Job succeeds once the listed indexes have, and the rest are stopped", async () => {
    const ns = "job-success";
    await createNamespace(env.client, ns);
    kubelet.outcome = (p) => (p.metadata.namespace === ns && p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"] !== "0" ? "run" : { exitCode: 0 });
    try {
      await jobClient.create(ns, job("leader", { completions: 3, parallelism: 3, completionMode: "Indexed", successPolicy: { rules: [{ succeededIndexes: "0" }] } }));
      const done = await finished(ns, "leader", "Complete");
      expect(done.status?.conditions?.map((c) => [c.type, c.reason, c.message])).toEqual([
        ["SuccessCriteriaMet", "SuccessPolicy", "Matched rules at index 0"],
        ["Complete", "SuccessPolicy", "Matched rules at index 0"],
      ]);
      expect(done.status?.completedIndexes).toBe("0");
    } finally {
      kubelet.outcome = () => ({ exitCode: 0 });
    }
  });

  test("ttlSecondsAfterFinished: a finished Job is deleted with its pods", async () => {
    const ns = "job-ttl";
    await createNamespace(env.client, ns);
    const created = await jobClient.create(ns, job("brief", { ttlSecondsAfterFinished: 0 }));
    await eventually(async () => !(await getOrUndefined(jobClient.get(ns, "brief"))), "job deleted", 400);
    await eventually(async () => (await podsOf(ns, created)).length === 0, "pods deleted", 400);
  });

  test("a Job deleted while its pods run releases them: nothing is left behind the finalizer", async () => {
    const ns = "job-delete";
    await createNamespace(env.client, ns);
    kubelet.outcome = (p) => (p.metadata.namespace === ns ? "run" : { exitCode: 0 });
    try {
      const created = await jobClient.create(ns, job("gone", { parallelism: 2, completions: 2 }));
      await eventually(async () => (await jobClient.get(ns, "gone")).status?.active === 2);
      await jobClient.delete(ns, "gone", { propagationPolicy: "Background" });
      await eventually(async () => (await podsOf(ns, created)).length === 0, "pods gone", 400);
    } finally {
      kubelet.outcome = () => ({ exitCode: 0 });
    }
  });
});

describe("job controller across restarts", () => {
  test("pods that finish while no controller runs are counted once by the next one, and none is created twice", async () => {
    const ns = "job-restart";
    await createNamespace(env.client, ns);
    kubelet.outcome = (p) => (p.metadata.namespace === ns ? "run" : { exitCode: 0 });
    const created = await jobClient.create(ns, job("steady", { completions: 4, parallelism: 2 }));
    await eventually(async () => (await jobClient.get(ns, "steady")).status?.active === 2);
    await controller.stop();
    // While no controller runs, both pods succeed; the next controller must count each once.
    kubelet.outcome = () => ({ exitCode: 0 });
    for (const p of await podsOf(ns, created)) await podClient.patch(ns, p.metadata.name!, { metadata: { labels: { poke: "1" } } });
    await eventually(async () => (await podsOf(ns, created)).every((p) => p.status?.phase === "Succeeded"));
    controller = new JobController(env.client, { backoff });
    await controller.start();
    const done = await finished(ns, "steady", "Complete");
    expect(done.status?.succeeded).toBe(4);
    expect((await podsOf(ns, created)).length).toBe(4);
  });
});

describe("job controller adoption", () => {
  test("a Job with a manual selector adopts a matching orphan pod, tracks it and counts it", async () => {
    const ns = "job-adopt";
    await createNamespace(env.client, ns);
    kubelet.outcome = (p) => (p.metadata.namespace === ns ? "run" : { exitCode: 0 });
    try {
      await podClient.create(ns, { metadata: { name: "stray", labels: { app: "batch" } }, spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox" }] } } as Pod);
      await eventually(async () => (await podClient.get(ns, "stray")).status?.phase === "Running");
      const manual = job("adopter", { completions: 1, parallelism: 1, manualSelector: true, selector: { matchLabels: { app: "batch" } } });
      manual.spec!.template.metadata = { labels: { app: "batch" } };
      const created = await jobClient.create(ns, manual);
      const adopted = await eventually(async () => {
        const p = await podClient.get(ns, "stray");
        return p.metadata.ownerReferences?.[0]?.uid === created.metadata.uid ? p : undefined;
      });
      expect(adopted.metadata.finalizers).toContain(JOB_TRACKING_FINALIZER);
      kubelet.outcome = () => ({ exitCode: 0 });
      await podClient.patch(ns, "stray", { metadata: { labels: { poke: "1" } } });
      const done = await finished(ns, "adopter", "Complete");
      expect(done.status?.succeeded).toBe(1);
      expect((await podsOf(ns, created)).map((p) => p.metadata.name)).toEqual(["stray"]);
    } finally {
      kubelet.outcome = () => ({ exitCode: 0 });
    }
  });
});

describe("job controller resuming a half-done count", () => {
  test("uids recorded before a crash are counted once, whether or not their pod still has the finalizer", async () => {
    const ns = "job-crash";
    await createNamespace(env.client, ns);
    await controller.stop();
    try {
      const created = await jobClient.create(ns, job("half", { completions: 2, parallelism: 2 }));
      const labels = created.spec!.template.metadata!.labels!;
      const owner = { apiVersion: "batch/v1", kind: "Job", name: "half", uid: created.metadata.uid!, controller: true, blockOwnerDeletion: true };
      const make = (name: string) =>
        podClient.create(ns, { metadata: { name, labels, finalizers: [JOB_TRACKING_FINALIZER], ownerReferences: [owner] }, spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox" }] } } as Pod);
      const [a, b] = [await make("half-a"), await make("half-b")];
      await eventually(async () => (await podsOf(ns, created)).every((p) => p.status?.phase === "Succeeded"));
      // The state a controller leaves when it dies after recording both, and after releasing b only.
      await podClient.patch(ns, "half-b", { metadata: { finalizers: null } });
      await jobClient.patch(ns, "half", { status: { startTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"), uncountedTerminatedPods: { succeeded: [a.metadata.uid!, b.metadata.uid!] } } }, "merge", "status");
    } finally {
      controller = new JobController(env.client, { backoff });
      await controller.start();
    }
    const done = await finished(ns, "half", "Complete");
    expect(done.status?.succeeded).toBe(2);
    expect(done.status?.uncountedTerminatedPods).toEqual({});
    const pods = await podsOf(ns, done);
    expect(pods.map((p) => p.metadata.name).sort()).toEqual(["half-a", "half-b"]);
    expect(pods.every((p) => !p.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER))).toBe(true);
  });
});
