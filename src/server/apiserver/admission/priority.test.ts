import { expect, test } from "bun:test";
import { ApiError } from "../../../api/errors";
import { pods, type Pod } from "../../../api/resources/core/pod";
import { priorityClasses, type PriorityClass } from "../../../api/resources/scheduling/priorityclass";
import { PriorityAdmission } from "./priority";

const classes = (...list: PriorityClass[]) => new PriorityAdmission({ get: (n) => list.find((c) => c.metadata.name === n), list: () => list });
const pc = (name: string, value: number, extra: Partial<PriorityClass> = {}): PriorityClass => ({ metadata: { name }, value, preemptionPolicy: "PreemptLowerPriority", ...extra });
const pod = (spec: Partial<Pod["spec"]> = {}): Pod => ({ metadata: { name: "p", namespace: "default" }, spec: { containers: [{ name: "c", image: "busybox" }], ...spec } });
const refusal = (f: () => void) => {
  try {
    f();
  } catch (e) {
    return e instanceof ApiError ? `${e.code} ${e.message}` : String(e);
  }
  return "admitted";
};

test("a pod gets its class's priority and preemption policy", () => {
  const p = pod({ priorityClassName: "high" });
  classes(pc("high", 1000, { preemptionPolicy: "Never" })).admit("create", pods, p, undefined);
  expect(p.spec!.priority).toBe(1000);
  expect(p.spec!.preemptionPolicy).toBe("Never");
});

test("without a class: the global default, else priority 0", () => {
  const p = pod();
  classes(pc("dflt", 50, { globalDefault: true }), pc("other", 70)).admit("create", pods, p, undefined);
  expect([p.spec!.priorityClassName, p.spec!.priority]).toEqual(["dflt", 50]);
  const q = pod();
  classes(pc("other", 70)).admit("create", pods, q, undefined);
  expect([q.spec!.priorityClassName, q.spec!.priority]).toEqual([undefined, 0]);
});

test("an unknown class or a mismatching client priority is refused as upstream", () => {
  expect(refusal(() => classes().admit("create", pods, pod({ priorityClassName: "nope" }), undefined))).toBe('403 pods "p" is forbidden: no PriorityClass with name nope was found');
  expect(refusal(() => classes(pc("high", 10)).admit("create", pods, pod({ priorityClassName: "high", priority: 11 }), undefined))).toBe(
    '403 pods "p" is forbidden: the integer value of priority (11) must not be provided in pod spec; priority admission controller computed 10 from the given PriorityClass name',
  );
  expect(refusal(() => classes(pc("high", 10)).admit("create", pods, pod({ priorityClassName: "high", priority: 10 }), undefined))).toBe("admitted");
  expect(refusal(() => classes(pc("high", 10)).admit("create", pods, pod({ priorityClassName: "high", preemptionPolicy: "Never" }), undefined))).toContain(
    "the string value of PreemptionPolicy (Never) must not be provided in pod spec; priority admission controller computed PreemptLowerPriority",
  );
});

test("updates keep the priority set on create", () => {
  const old = pod({ priority: 10, preemptionPolicy: "Never" });
  const next = pod();
  classes().admit("update", pods, next, old);
  expect([next.spec!.priority, next.spec!.preemptionPolicy]).toEqual([10, "Never"]);
});

test("only one global default", () => {
  const plugin = classes(pc("dflt", 1, { globalDefault: true }));
  expect(refusal(() => plugin.admit("create", priorityClasses, pc("second", 2, { globalDefault: true }), undefined))).toBe(
    '403 priorityclasses.scheduling.k8s.io "second" is forbidden: PriorityClass dflt is marked as default. Only one default can exist',
  );
  expect(refusal(() => plugin.admit("update", priorityClasses, pc("dflt", 1, { globalDefault: true }), undefined))).toBe("admitted");
  expect(refusal(() => plugin.admit("create", priorityClasses, pc("plain", 2), undefined))).toBe("admitted");
});

test("a pod update that leaves out priority passes the immutability check and gets it back", () => {
  const old = pod({ priority: 10, preemptionPolicy: "Never" });
  const next = pod();
  expect(pods.immutable!(next, old)).toEqual([]);
  expect(pods.immutable!(pod({ priority: 11 }), old)).toHaveLength(1);
  classes().admit("update", pods, next, old);
  expect(next.spec!.priority).toBe(10);
});
