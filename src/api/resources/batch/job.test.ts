import { describe, expect, test } from "bun:test";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import "../formats";
import { formatIndexes, inIntervals, indexesOf, parseIndexes } from "./indexes";
import { jobs, type Job } from "./job";

const now = new Date("2024-05-01T12:00:00Z");
const check = TypeCompiler.Compile(jobs.schema);

const job = (spec: Partial<NonNullable<Job["spec"]>> = {}): Job =>
  ({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "default", uid: "u-1", creationTimestamp: "2024-05-01T11:00:00Z" },
    spec: {
      template: { spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox", command: ["true"] }] } },
      ...spec,
    },
  }) as Job;

const created = (spec: Partial<NonNullable<Job["spec"]>> = {}) => {
  const j = job(spec);
  jobs.defaults(j);
  return j;
};
const fields = (j: Job, old?: Job) => [...jobs.validate(j, old), ...(old ? jobs.immutable!(j, old) : [])].map((e) => `${e.field}: ${e.message}`);

describe("jobs", () => {
  test("defaults as upstream's SetDefaults_Job, and a generated selector", () => {
    const j = created();
    expect(j.spec).toMatchObject({
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      completionMode: "NonIndexed",
      suspend: false,
      manualSelector: false,
      podReplacementPolicy: "TerminatingOrFailed",
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "u-1" } },
    });
    expect(j.spec!.template.metadata!.labels).toEqual({
      "batch.kubernetes.io/controller-uid": "u-1",
      "batch.kubernetes.io/job-name": "pi",
      "controller-uid": "u-1",
      "job-name": "pi",
    });
    // The Job takes its template's labels when it has none of its own.
    expect(j.metadata.labels?.["job-name"]).toBe("pi");
    expect(check.Check(j)).toBe(true);
    expect(fields(j)).toEqual([]);

    const perIndex = created({ completionMode: "Indexed", completions: 3, backoffLimitPerIndex: 1 });
    expect(perIndex.spec!.backoffLimit).toBe(2147483647);
    expect(perIndex.spec!.parallelism).toBe(1);
    const withPolicy = created({ podFailurePolicy: { rules: [{ action: "Ignore", onPodConditions: [{ type: "DisruptionTarget" }] }] } });
    expect(withPolicy.spec!.podReplacementPolicy).toBe("Failed");
    expect(withPolicy.spec!.podFailurePolicy!.rules[0]!.onPodConditions![0]!.status).toBe("True");
    expect(created({ parallelism: 4 }).spec!.completions).toBeUndefined();
  });

  test("a manual selector must match the template; a generated one may not be overridden", () => {
    const manual = job({ manualSelector: true, selector: { matchLabels: { app: "x" } } });
    manual.spec!.template.metadata = { labels: { app: "y" } };
    jobs.defaults(manual);
    expect(fields(manual)).toEqual(['spec.template.metadata.labels: Invalid value: "app=y": `selector` does not match template `labels`']);
    const forged = job({ selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "other" } } });
    jobs.defaults(forged);
    expect(fields(forged)).toContain("spec.selector: Invalid value: " + JSON.stringify(forged.spec!.selector) + ": `selector` not auto-generated");
  });

  test("validation as upstream's ValidateJob", () => {
    const always = job();
    always.spec!.template.spec!.restartPolicy = "Always";
    jobs.defaults(always);
    expect(fields(always)).toEqual(['spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"']);
    expect(fields(created({ parallelism: -1, backoffLimit: -2 }))).toEqual([
      "spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
      "spec.backoffLimit: Invalid value: -2: must be greater than or equal to 0",
    ]);
    expect(fields(created({ completionMode: "Indexed", completions: undefined, parallelism: 2 }))).toEqual([
      "spec.completions: Required value: when completion mode is Indexed",
    ]);
    expect(fields(created({ completionMode: "Sometimes" }))).toEqual([
      'spec.completionMode: Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed"',
    ]);
    expect(fields(created({ backoffLimitPerIndex: 1 }))).toEqual(["spec.backoffLimitPerIndex: Forbidden: requires indexed completion mode"]);
    expect(fields(created({ completionMode: "Indexed", completions: 2, backoffLimitPerIndex: 1, maxFailedIndexes: 3 }))).toEqual([
      "spec.maxFailedIndexes: Invalid value: 3: must be less than or equal to completions",
    ]);
    const badPolicy = created({
      podFailurePolicy: {
        rules: [
          { action: "FailIndex", onExitCodes: { operator: "In", values: [0, 3, 2] } },
          { action: "Explode", onPodConditions: [] },
          { action: "Count", onExitCodes: { containerName: "nope", operator: "NotIn", values: [1] } },
        ],
      },
    });
    expect(fields(badPolicy)).toEqual([
      "spec.podFailurePolicy.rules[0].action: Forbidden: requires the backoffLimitPerIndex to be set",
      "spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator",
      "spec.podFailurePolicy.rules[0].onExitCodes.values[2]: Invalid value: 2: must be ordered",
      'spec.podFailurePolicy.rules[1].action: Unsupported value: "Explode": supported values: "FailJob", "FailIndex", "Ignore", "Count"',
      'spec.podFailurePolicy.rules[1]: Invalid value: {"action":"Explode","onPodConditions":[]}: specifying one of OnExitCodes and OnPodConditions is required',
      'spec.podFailurePolicy.rules[2].onExitCodes.containerName: Invalid value: "nope": must be one of the container or initContainer names in the pod template',
    ]);
    expect(fields(created({ successPolicy: { rules: [{ succeededCount: 1 }] } }))).toEqual([
      'spec.completionMode: Invalid value: "NonIndexed": requires indexed completion mode',
    ]);
    expect(fields(created({ completionMode: "Indexed", completions: 3, successPolicy: { rules: [{ succeededIndexes: "0-1", succeededCount: 3 }] } }))).toEqual([
      "spec.successPolicy.rules[0].succeededCount: Invalid value: 3: must be less than or equal to 2 (the number of indexes in the specified succeededIndexes field)",
    ]);
  });

  test("template, selector and completions are immutable; scheduling may change while suspended and never started", () => {
    const old = created({ completions: 3 });
    const next = structuredClone(old);
    next.spec!.completions = 4;
    next.spec!.template.spec!.containers[0]!.image = "alpine";
    next.spec!.parallelism = 2;
    expect(fields(next, old)).toEqual([
      "spec.completions: Invalid value: 4: field is immutable",
      expect.stringMatching(/^spec\.template: Invalid value: .*: field is immutable$/),
    ]);
    const suspended = created({ suspend: true });
    const moved = structuredClone(suspended);
    moved.spec!.template.spec!.nodeSelector = { zone: "a" };
    expect(fields(moved, suspended)).toEqual([]);
    const started = { ...suspended, status: { startTime: "2024-05-01T11:00:00Z" } };
    expect(fields(moved, started)).toHaveLength(1);
    const elastic = created({ completionMode: "Indexed", completions: 2, parallelism: 2 });
    const grown = structuredClone(elastic);
    grown.spec!.completions = grown.spec!.parallelism = 5;
    expect(fields(grown, elastic)).toEqual([]);
  });

  test("table: NAME STATUS COMPLETIONS DURATION AGE", () => {
    expect(jobs.table.columns.filter((c) => c.priority === 0).map((c) => c.name)).toEqual(["Name", "Status", "Completions", "Duration", "Age"]);
    const j = created({ completions: 3 });
    j.status = { succeeded: 1, startTime: "2024-05-01T11:58:00Z" };
    expect(jobs.table.row(j, now).slice(0, 5)).toEqual(["pi", "Running", "1/3", "2m", "60m"]);
    j.status = {
      succeeded: 3,
      startTime: "2024-05-01T11:58:00Z",
      completionTime: "2024-05-01T11:58:30Z",
      conditions: [{ type: "Complete", status: "True" }],
    };
    expect(jobs.table.row(j, now).slice(1, 4)).toEqual(["Complete", "3/3", "30s"]);
    const open = created({ parallelism: 3 });
    expect(jobs.table.row(open, now).slice(1, 4)).toEqual(["Running", "0/1 of 3", ""]);
    open.status = { conditions: [{ type: "Suspended", status: "True" }] };
    expect(jobs.table.row(open, now)[1]).toBe("Suspended");
  });

  test("index lists", () => {
    expect(formatIndexes([7, 1, 3, 4, 5, 5])).toBe("1,3-5,7");
    expect(parseIndexes("1,3-5,7", 8)).toEqual({ intervals: [[1, 1], [3, 5], [7, 7]], total: 5 });
    expect(parseIndexes("0-1999999999")).toEqual({ intervals: [[0, 1999999999]], total: 2e9 });
    expect(inIntervals([[1, 1], [3, 5], [7, 7]], 4)).toBe(true);
    expect(inIntervals([[1, 1], [3, 5], [7, 7]], 6)).toBe(false);
    expect([...indexesOf("0-2000000000,x,5", 3)]).toEqual([0, 1, 2]);
    expect(parseIndexes("3,1")).toEqual({ error: "items must be sorted" });
    expect("error" in parseIndexes("0-9", 5)).toBe(true);
    expect("error" in parseIndexes("a")).toBe(true);
  });
});
