// batch/v1 Jobs for real: a `bramble server` whose embedded agent runs the pods on the Docker
// engine, driven by the installed kubectl. An Indexed Job runs to Complete (each pod sees its
// own index and hostname), `kubectl wait --for=condition=complete` and `kubectl logs job/...`
// work, and a Job survives `kill -9` of the server mid-run: after the restart no pod is created
// twice and no pod is counted twice. Needs dockerd (CI starts one; locally this skips without it).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { dockerForTests } from "../src/agent/runtime/docker/testing";
import { parseJson, type TestServer } from "./helpers/server";
import { eventually as poll } from "./helpers/eventually";
import { removePodsOf, shContainer, startServerWithNode } from "./helpers/pods";

const docker = await dockerForTests("job tests");
// Each test waits on real containers and kubectl processes (no timing is asserted).
setDefaultTimeout(90_000);
const NS = `job-${Date.now().toString(36)}`;
let s: TestServer;

const eventually = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 60_000) => poll(what, f, { timeoutMs, intervalMs: 250, context: () => s?.log.slice(-5000) ?? "" });
const kc = (...args: string[]) => s.kubectl("-n", NS, ...args);
const apply = (obj: object) => s.kubectlWith({ stdin: JSON.stringify(obj) }, "-n", NS, "apply", "-f", "-");

const job = (name: string, spec: object, script: string) => ({
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: { name },
  spec: { ...spec, template: { spec: { restartPolicy: "Never", terminationGracePeriodSeconds: 1, containers: [{ name: "main", ...shContainer(script) }] } } },
});

const podsOf = async (name: string) => parseJson(await kc("get", "pods", "-l", `batch.kubernetes.io/job-name=${name}`, "-o", "json")).items as any[];

describe.skipIf(!docker)("Jobs on real containers through kubectl", () => {
  beforeAll(async () => {
    s = await startServerWithNode(docker!);
    expect((await s.kubectl("create", "namespace", NS)).code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await s?.cleanup();
    if (docker) await removePodsOf(docker, NS);
  });

  test("an Indexed Job of 3 completions runs to Complete; kubectl wait and logs work", async () => {
    const r = await apply(job("idx", { completions: 3, parallelism: 3, completionMode: "Indexed" }, 'echo "index=$JOB_COMPLETION_INDEX host=$(cat /etc/hostname)"'));
    expect(r.stderr).toBe("");
    const waited = await kc("wait", "--for=condition=complete", "job/idx", "--timeout=60s");
    expect(waited).toMatchObject({ code: 0, stdout: "job.batch/idx condition met\n" });

    const row = (await kc("get", "job", "idx", "--no-headers")).stdout.trim().split(/\s+/);
    expect(row.slice(0, 3)).toEqual(["idx", "Complete", "3/3"]);
    const status = parseJson(await kc("get", "job", "idx", "-o", "json")).status;
    expect(status).toMatchObject({ succeeded: 3, completedIndexes: "0-2", uncountedTerminatedPods: {} });

    const pods = await podsOf("idx");
    expect(pods.length).toBe(3);
    const lines = new Set<string>();
    for (const p of pods) {
      const ix = p.metadata.annotations["batch.kubernetes.io/job-completion-index"];
      expect(p.status.phase).toBe("Succeeded");
      expect(p.metadata.finalizers ?? []).not.toContain("batch.kubernetes.io/job-tracking");
      const out = (await kc("logs", p.metadata.name)).stdout;
      expect(out).toBe(`index=${ix} host=idx-${ix}\n`);
      lines.add(out);
    }
    expect(lines.size).toBe(3);
    // kubectl picks one of the Job's pods through its selector.
    const logs = await kc("logs", "job/idx");
    expect(logs.code).toBe(0);
    expect(lines.has(logs.stdout)).toBe(true);
  });

  test("a Job survives kill -9 of the server mid-run: no pod created or counted twice", async () => {
    const r = await apply(job("steady", { completions: 4, parallelism: 2 }, "sleep 2; echo done"));
    expect(r.stderr).toBe("");
    // Killed while the second pair runs, with the first pair already counted.
    await eventually("two counted, more running", async () => {
      const st = parseJson(await kc("get", "job", "steady", "-o", "json")).status;
      return st?.succeeded >= 2 && st?.active >= 1;
    });
    await s.kill();
    await s.restart();
    const waited = await kc("wait", "--for=condition=complete", "job/steady", "--timeout=60s");
    expect(waited.code).toBe(0);
    const status = parseJson(await kc("get", "job", "steady", "-o", "json")).status;
    expect(status.succeeded).toBe(4);
    expect(status.failed).toBeUndefined();
    const pods = await podsOf("steady");
    expect(pods.length).toBe(4);
    expect(pods.every((p) => p.status.phase === "Succeeded")).toBe(true);
  });
});
