import { describe, expect, test } from "bun:test";
import type { Pod } from "../../api/resources/core/pod";
import type { ResourceQuota } from "../../api/resources/core/resourcequota";
import { checkRequest } from "./check";
import { evaluatorFor, podAggregate } from "./evaluators";

const PODS = { group: "", plural: "pods" };
const now = new Date("2026-01-01T00:00:00Z");
const quota = (name: string, hard: Record<string, string>, used: Record<string, string>, spec: Partial<NonNullable<ResourceQuota["spec"]>> = {}): ResourceQuota => ({
  metadata: { name, namespace: "ns", resourceVersion: "7" },
  spec: { hard, ...spec },
  status: { hard, used },
});
const pod = (resources?: { requests?: Record<string, string>; limits?: Record<string, string> }, extra: Partial<NonNullable<Pod["spec"]>> = {}): Pod => ({
  metadata: { name: "p", namespace: "ns" },
  spec: { containers: [{ name: "c", image: "busybox", ...(resources && { resources }) }], ...extra },
});
const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return "admitted";
};

describe("checkRequest", () => {
  test("charges every matching quota the request's usage; the new used values come back", () => {
    const charges = checkRequest([quota("compute", { pods: "3", "requests.cpu": "1" }, { pods: "1", "requests.cpu": "200m" })], "create", PODS, pod({ requests: { cpu: "300m" } }), undefined, now);
    expect(charges.map((c) => c.used)).toEqual([{ pods: "2", "requests.cpu": "500m" }]);
  });

  test("refuses what would exceed a hard limit, in upstream's words", () => {
    const q = quota("pods-2", { pods: "2" }, { pods: "2" });
    expect(refusal(() => checkRequest([q], "create", PODS, pod(), undefined, now))).toBe("exceeded quota: pods-2, requested: pods=1, used: pods=2, limited: pods=2");
    const cpu = quota("cpu", { "requests.cpu": "1", "limits.cpu": "2" }, { "requests.cpu": "800m", "limits.cpu": "1" });
    expect(refusal(() => checkRequest([cpu], "create", PODS, pod({ requests: { cpu: "500m" }, limits: { cpu: "500m" } }), undefined, now))).toBe(
      "exceeded quota: cpu, requested: requests.cpu=500m, used: requests.cpu=800m, limited: requests.cpu=1",
    );
  });

  test("quotas on cpu or memory require every container to state them", () => {
    const q = quota("mem", { "limits.cpu": "2", "requests.memory": "1Gi" }, { "limits.cpu": "0", "requests.memory": "0" });
    expect(refusal(() => checkRequest([q], "create", PODS, pod(), undefined, now))).toBe("failed quota: mem: must specify limits.cpu for: c; requests.memory for: c");
  });

  test("a quota without usage yet for what it limits refuses", () => {
    expect(refusal(() => checkRequest([quota("new", { pods: "2" }, {})], "create", PODS, pod(), undefined, now))).toBe("status unknown for quota: new, resources: pods");
  });

  test("a quota whose status.hard is not set yet does not apply", () => {
    const q: ResourceQuota = { metadata: { name: "fresh", namespace: "ns" }, spec: { hard: { pods: "0" } } };
    expect(checkRequest([q], "create", PODS, pod(), undefined, now)).toEqual([]);
  });

  test("scopes: BestEffort, Terminating, PriorityClass", () => {
    const be = quota("be", { pods: "0" }, { pods: "0" }, { scopes: ["BestEffort"] });
    expect(checkRequest([be], "create", PODS, pod({ requests: { cpu: "1" } }), undefined, now)).toEqual([]);
    expect(refusal(() => checkRequest([be], "create", PODS, pod(), undefined, now))).toStartWith("exceeded quota: be");
    const term = quota("term", { pods: "0" }, { pods: "0" }, { scopes: ["Terminating"] });
    expect(checkRequest([term], "create", PODS, pod(), undefined, now)).toEqual([]);
    expect(refusal(() => checkRequest([term], "create", PODS, pod(undefined, { activeDeadlineSeconds: 10 }), undefined, now))).toStartWith("exceeded quota: term");
    const high = quota("high", { pods: "0" }, { pods: "0" }, { scopeSelector: { matchExpressions: [{ scopeName: "PriorityClass", operator: "In", values: ["high"] }] } });
    expect(checkRequest([high], "create", PODS, pod(undefined, { priorityClassName: "low" }), undefined, now)).toEqual([]);
    expect(refusal(() => checkRequest([high], "create", PODS, pod(undefined, { priorityClassName: "high" }), undefined, now))).toStartWith("exceeded quota: high");
  });

  test("object counts: count/<resource>.<group> and legacy names; scoped quotas never count them", () => {
    const q = quota("objs", { configmaps: "5", "count/configmaps": "5", "count/deployments.apps": "1" }, { configmaps: "1", "count/configmaps": "1", "count/deployments.apps": "1" });
    const cm = { metadata: { name: "c", namespace: "ns" } };
    expect(checkRequest([q], "create", { group: "", plural: "configmaps" }, cm, undefined, now)[0]!.used).toEqual({ configmaps: "2", "count/configmaps": "2", "count/deployments.apps": "1" });
    expect(refusal(() => checkRequest([q], "create", { group: "apps", plural: "deployments" }, cm, undefined, now))).toBe(
      "exceeded quota: objs, requested: count/deployments.apps=1, used: count/deployments.apps=1, limited: count/deployments.apps=1",
    );
    expect(checkRequest([q], "update", { group: "", plural: "configmaps" }, cm, cm, now)).toEqual([]);
    expect(evaluatorFor({ group: "", plural: "events" })).toBeUndefined();
  });

  test("services: node ports and load balancers; an update charges only the growth", () => {
    const q = quota("svc", { services: "5", "services.nodeports": "2", "services.loadbalancers": "1" }, { services: "1", "services.nodeports": "1", "services.loadbalancers": "0" });
    const svc = (type: string, ports = 1) => ({ metadata: { name: "s", namespace: "ns" }, spec: { type, ports: Array.from({ length: ports }, (_, i) => ({ port: 80 + i })) } });
    const SVC = { group: "", plural: "services" };
    expect(checkRequest([q], "update", SVC, svc("NodePort"), svc("ClusterIP"), now)[0]!.used).toEqual({ services: "1", "services.loadbalancers": "0", "services.nodeports": "2" });
    expect(refusal(() => checkRequest([q], "create", SVC, svc("NodePort", 2), undefined, now))).toBe(
      "exceeded quota: svc, requested: services.nodeports=2, used: services.nodeports=1, limited: services.nodeports=2",
    );
    expect(checkRequest([q], "update", SVC, svc("ClusterIP"), svc("ClusterIP"), now)).toEqual([]);
  });

  test("claims: storage requests, per storage class too", () => {
    const q = quota("st", { "requests.storage": "10Gi", "fast.storageclass.storage.k8s.io/requests.storage": "1Gi" }, { "requests.storage": "0", "fast.storageclass.storage.k8s.io/requests.storage": "0" });
    const claim = { metadata: { name: "c", namespace: "ns" }, spec: { storageClassName: "fast", resources: { requests: { storage: "2Gi" } } } };
    expect(refusal(() => checkRequest([q], "create", { group: "", plural: "persistentvolumeclaims" }, claim, undefined, now))).toBe(
      "exceeded quota: st, requested: fast.storageclass.storage.k8s.io/requests.storage=2Gi, used: fast.storageclass.storage.k8s.io/requests.storage=0, limited: fast.storageclass.storage.k8s.io/requests.storage=1Gi",
    );
  });

  test("finished pods count only in count/pods", () => {
    const done: Pod = { ...pod({ requests: { cpu: "1" } }), status: { phase: "Succeeded" } };
    const usage = evaluatorFor(PODS)!.usage(done, now);
    expect([...usage.keys()]).toEqual(["count/pods"]);
  });

  test("pod aggregate: containers and sidecars, or the largest init container", () => {
    const spec = {
      containers: [{ name: "a", image: "x", resources: { requests: { cpu: "100m" } } }, { name: "b", image: "x", resources: { requests: { cpu: "200m" } } }],
      initContainers: [
        { name: "side", image: "x", restartPolicy: "Always", resources: { requests: { cpu: "50m" } } },
        { name: "big", image: "x", resources: { requests: { cpu: "1" } } },
      ],
    } as NonNullable<Pod["spec"]>;
    expect(podAggregate(spec, "requests").get("cpu")!.nano).toBe(1_050_000_000n);
    spec.initContainers![1]!.resources!.requests!.cpu = "100m";
    expect(podAggregate(spec, "requests").get("cpu")!.nano).toBe(350_000_000n);
  });
});
