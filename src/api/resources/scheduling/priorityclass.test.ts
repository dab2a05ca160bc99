import { expect, test } from "bun:test";
import { priorityClasses, type PriorityClass } from "./priorityclass";

const pc = (name: string, value: number, extra: Partial<PriorityClass> = {}): PriorityClass => {
  const obj: PriorityClass = { metadata: { name }, value, ...extra };
  priorityClasses.defaults(obj);
  return obj;
};
const fields = (obj: PriorityClass, old?: PriorityClass) => priorityClasses.validate(obj, old).map((e) => `${e.field}: ${e.message}`);

test("defaults preemptionPolicy and accepts user values up to one billion", () => {
  expect(pc("high", 1000).preemptionPolicy).toBe("PreemptLowerPriority");
  expect(fields(pc("high", 1_000_000_000))).toEqual([]);
  expect(fields(pc("low", -5))).toEqual([]);
  expect(fields(pc("too-high", 1_000_000_001))).toEqual(["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]);
});

test("the system- prefix is reserved for the known system classes with their values", () => {
  expect(fields(pc("system-node-critical", 2000001000))).toEqual([]);
  expect(fields(pc("system-cluster-critical", 2000000000))).toEqual([]);
  expect(fields(pc("system-mine", 10))).toEqual([
    "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class",
  ]);
  expect(fields(pc("system-node-critical", 5))[0]).toContain("value of system-node-critical PriorityClass must be 2000001000");
});

test("preemptionPolicy is one of two and, with value, immutable", () => {
  expect(fields(pc("x", 1, { preemptionPolicy: "Sometimes" }))).toEqual(['preemptionPolicy: Unsupported value: "Sometimes": supported values: "Never", "PreemptLowerPriority"']);
  const old = pc("x", 1);
  expect(fields(pc("x", 2), old)).toEqual(["value: Forbidden: may not be changed in an update."]);
  expect(fields(pc("x", 1, { preemptionPolicy: "Never" }), old)).toEqual(['preemptionPolicy: Invalid value: "Never": field is immutable']);
  expect(fields(pc("x", 1, { description: "changed" }), old)).toEqual([]);
});

test("system classes refuse deletion; the table shows upstream's columns", () => {
  expect(priorityClasses.deletionRefused!(pc("system-node-critical", 2000001000))).toBe("this is a system priority class and cannot be deleted");
  expect(priorityClasses.deletionRefused!(pc("high", 1))).toBeUndefined();
  expect(priorityClasses.table.columns.map((c) => `${c.name}:${c.priority}`)).toEqual(["Name:0", "Value:0", "Global-Default:0", "Age:0", "PreemptionPolicy:0"]);
  expect(priorityClasses.table.row(pc("high", 7, { globalDefault: true }), new Date()).slice(0, 3)).toEqual(["high", 7, true]);
});
