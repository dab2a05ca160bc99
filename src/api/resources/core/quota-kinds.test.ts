import { describe, expect, test } from "bun:test";
import { defaultLimitRange, limitRanges, validateLimitRange, type LimitRange } from "./limitrange";
import { quotaColumns, resourceQuotas, validateResourceQuota, type ResourceQuota } from "./resourcequota";

const rq = (spec: ResourceQuota["spec"], status?: ResourceQuota["status"]): ResourceQuota => ({ metadata: { name: "q", namespace: "default" }, spec, status });
const messages = (errs: { field: string; message: string }[]) => errs.map((e) => `${e.field}: ${e.message}`);

describe("ResourceQuota", () => {
  test("hard: quota resource names, non-negative, whole counts", () => {
    expect(validateResourceQuota(rq({ hard: { pods: "2", "requests.cpu": "500m", "count/deployments.apps": "1", "example.com/gpu": "1" } }))).toEqual([]);
    expect(messages(validateResourceQuota(rq({ hard: { pods: "1500m", cpu: "-1", bogus: "1", storage: "1Gi" } })))).toEqual([
      "spec.hard[pods]: Invalid value: \"1500m\": must be an integer",
      "spec.hard[cpu]: Invalid value: \"-1\": must be greater than or equal to 0",
      "spec.hard[bogus]: Invalid value: \"bogus\": must be a standard resource type or fully qualified",
      "spec.hard[bogus]: Invalid value: \"bogus\": must be a standard resource for quota",
      "spec.hard[storage]: Invalid value: \"storage\": must be a standard resource for quota",
    ]);
  });

  test("scopes: known, not conflicting, applying to the limited resources", () => {
    expect(validateResourceQuota(rq({ hard: { pods: "1", "requests.cpu": "1" }, scopes: ["NotTerminating", "NotBestEffort"] }))).toEqual([]);
    const errs = messages(validateResourceQuota(rq({ hard: { pods: "1", "requests.cpu": "1", configmaps: "1" }, scopes: ["BestEffort", "NotBestEffort", "Odd"] })));
    expect(errs).toContain('spec.scopes: Invalid value: ["BestEffort","NotBestEffort","Odd"]: unsupported scope');
    expect(errs).toContain('spec.scopes: Invalid value: ["BestEffort","NotBestEffort","Odd"]: unsupported scope applied to resource');
    expect(errs).toContain('spec.scopes: Invalid value: ["BestEffort","NotBestEffort","Odd"]: conflicting scopes');
  });

  test("scope selector operators", () => {
    expect(validateResourceQuota(rq({ hard: { pods: "1" }, scopeSelector: { matchExpressions: [{ scopeName: "PriorityClass", operator: "In", values: ["high"] }] } }))).toEqual([]);
    const errs = messages(
      validateResourceQuota(
        rq({
          hard: { pods: "1" },
          scopeSelector: {
            matchExpressions: [
              { scopeName: "Terminating", operator: "In", values: ["x"] },
              { scopeName: "PriorityClass", operator: "NotIn" },
              { scopeName: "PriorityClass", operator: "Gt" },
            ],
          },
        }),
      ),
    );
    expect(errs[0]).toStartWith('spec.scopeSelector.matchExpressions.operator: Invalid value: "In": must be \'Exist\' when scope is any of ResourceQuotaScopeTerminating');
    expect(errs).toContain("spec.scopeSelector.matchExpressions.values: Required value: must be at least one value when `operator` is 'In' or 'NotIn' for scope selector");
    expect(errs).toContain('spec.scopeSelector.matchExpressions.operator: Invalid value: "Gt": not a valid selector operator');
  });

  test("table: used/hard, limits.* in LIMIT", () => {
    const q = rq({}, { hard: { pods: "2", "limits.cpu": "2", "requests.memory": "1Gi" }, used: { pods: "1", "limits.cpu": "500m" } });
    expect(quotaColumns(q)).toEqual(["pods: 1/2, requests.memory: 0/1Gi", "limits.cpu: 500m/2"]);
    expect(resourceQuotas.table.columns.map((c) => c.name)).toEqual(["Name", "Age", "Request", "Limit"]);
    expect(resourceQuotas.shortNames).toEqual(["quota"]);
  });
});

describe("LimitRange", () => {
  const lr = (limits: NonNullable<LimitRange["spec"]>["limits"]): LimitRange => ({ metadata: { name: "l", namespace: "default" }, spec: { limits } });

  test("Container defaults: default from max, defaultRequest from default, else min", () => {
    const l = lr([{ type: "Container", max: { cpu: "2" }, min: { memory: "64Mi" } }]);
    defaultLimitRange(l);
    expect(l.spec!.limits[0]).toEqual({ type: "Container", max: { cpu: "2" }, min: { memory: "64Mi" }, default: { cpu: "2" }, defaultRequest: { cpu: "2", memory: "64Mi" } });
    const pod = lr([{ type: "Pod", max: { cpu: "2" } }]);
    defaultLimitRange(pod);
    expect(pod.spec!.limits[0]).toEqual({ type: "Pod", max: { cpu: "2" } });
  });

  test("ordering of min, defaults and max; ratio", () => {
    expect(validateLimitRange(lr([{ type: "Container", min: { cpu: "100m" }, max: { cpu: "1" }, default: { cpu: "500m" }, defaultRequest: { cpu: "200m" }, maxLimitRequestRatio: { cpu: "5" } }]))).toEqual([]);
    expect(messages(validateLimitRange(lr([{ type: "Container", min: { cpu: "2" }, max: { cpu: "1" }, maxLimitRequestRatio: { cpu: "500m" } }])))).toEqual([
      'spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1',
      'spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "500m": ratio 500m is less than 1',
    ]);
    expect(messages(validateLimitRange(lr([{ type: "Container", min: { cpu: "1" }, max: { cpu: "2" }, maxLimitRequestRatio: { cpu: "3" } }])))).toEqual([
      'spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "3": ratio 3 is greater than max/min = 2.000000',
    ]);
  });

  test("types: standard or qualified, once each; Pod items take no defaults; claims need storage bounds", () => {
    const errs = messages(
      validateLimitRange(lr([{ type: "Pod", default: { cpu: "1" } }, { type: "Pod" }, { type: "Gizmo" }, { type: "PersistentVolumeClaim", max: { cpu: "1" } }, { type: "Container", max: { storage: "1Gi" } }])),
    );
    expect(errs).toEqual([
      "spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'",
      'spec.limits[1].type: Duplicate value: "Pod"',
      'spec.limits[2].type: Invalid value: "Gizmo": must be a standard limit type or fully qualified',
      "spec.limits[3].limits: Required value: either minimum or maximum storage value is required, but neither was provided",
      'spec.limits[4].max[storage]: Invalid value: "storage": must be a standard resource for containers',
    ]);
  });

  test("table and short name", () => {
    expect(limitRanges.shortNames).toEqual(["limits"]);
    expect(limitRanges.table.columns.map((c) => c.name)).toEqual(["Name", "Created At"]);
    expect(limitRanges.table.row({ metadata: { name: "l", creationTimestamp: "2026-01-01T00:00:00Z" } } as LimitRange, new Date())).toEqual(["l", "2026-01-01T00:00:00Z"]);
  });
});
