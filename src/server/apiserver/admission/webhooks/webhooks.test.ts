import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiError } from "../../../../api/errors";
import type { KubeObject } from "../../../../api/meta";
import {
  mutatingWebhookConfigurations,
  validatingWebhookConfigurations,
  type Webhook,
  type WebhookConfiguration,
} from "../../../../api/resources/admissionregistration/webhooks";
import { configMaps } from "../../../../api/resources/core/configmap";
import { withWarnings } from "../../request-warnings";
import { admissionReview } from "./call";
import { WebhookAdmission } from ".";
import { namespaceSelectorMatches, objectSelectorMatches, ruleMatches, rulesMatch, type RequestAttributes } from "./match";
import { patchOf, startTestWebhook, type TestWebhook } from "./test-server";

const pods: RequestAttributes = { operation: "CREATE", group: "", version: "v1", resource: "pods", subresource: "", namespaced: true };
const rule = (r: Partial<{ operations: string[]; apiGroups: string[]; apiVersions: string[]; resources: string[]; scope: string }>) => ({
  operations: ["CREATE"],
  apiGroups: [""],
  apiVersions: ["v1"],
  resources: ["pods"],
  ...r,
});

describe("rule matching", () => {
  test("operations, groups, versions and resources, with *", () => {
    expect(ruleMatches(rule({}), pods)).toBe(true);
    expect(ruleMatches(rule({}), { ...pods, operation: "UPDATE" })).toBe(false);
    expect(ruleMatches(rule({ operations: ["*"] }), { ...pods, operation: "UPDATE" })).toBe(true);
    expect(ruleMatches(rule({ apiGroups: ["apps"] }), pods)).toBe(false);
    expect(ruleMatches(rule({ apiGroups: ["*"], apiVersions: ["*"], resources: ["*"] }), pods)).toBe(true);
    expect(ruleMatches(rule({ resources: ["services"] }), pods)).toBe(false);
  });

  test("subresources: named, pods/*, */*; `*` and `pods` alone do not match a subresource", () => {
    const status = { ...pods, operation: "UPDATE" as const, subresource: "status" };
    const any = { operations: ["*"] };
    expect(ruleMatches(rule({ ...any, resources: ["pods"] }), status)).toBe(false);
    expect(ruleMatches(rule({ ...any, resources: ["*"] }), status)).toBe(false);
    expect(ruleMatches(rule({ ...any, resources: ["pods/status"] }), status)).toBe(true);
    expect(ruleMatches(rule({ ...any, resources: ["pods/*"] }), status)).toBe(true);
    expect(ruleMatches(rule({ ...any, resources: ["*/*"] }), status)).toBe(true);
    expect(ruleMatches(rule({ ...any, resources: ["*/status"] }), status)).toBe(true);
    expect(ruleMatches(rule({ ...any, resources: ["pods/status"] }), { ...status, subresource: "" })).toBe(false);
  });

  test("scope", () => {
    expect(ruleMatches(rule({ scope: "Namespaced" }), pods)).toBe(true);
    expect(ruleMatches(rule({ scope: "Cluster" }), pods)).toBe(false);
    expect(ruleMatches(rule({ scope: "*" }), pods)).toBe(true);
  });

  test("matchPolicy Equivalent also matches another served version; Exact does not", () => {
    const hpa: RequestAttributes = { operation: "CREATE", group: "autoscaling", version: "v2", resource: "horizontalpodautoscalers", subresource: "", namespaced: true, otherVersions: ["v1"] };
    const w = (matchPolicy: string) => ({ rules: [rule({ apiGroups: ["autoscaling"], apiVersions: ["v1"], resources: ["horizontalpodautoscalers"] })], matchPolicy }) as Webhook;
    expect(rulesMatch(w("Equivalent"), hpa)).toBe(true);
    expect(rulesMatch(w("Exact"), hpa)).toBe(false);
  });
});

describe("selectors", () => {
  const obj = (labels?: Record<string, string>, namespace = "team") => ({ metadata: { name: "x", namespace, labels } }) as KubeObject;
  test("namespaceSelector reads the namespace's labels; a Namespace its own; other cluster-scoped objects always match", () => {
    const w = { namespaceSelector: { matchLabels: { env: "prod" } } } as unknown as Webhook;
    const labels = (ns: string): Record<string, string> => (ns === "team" ? { env: "prod" } : {});
    expect(namespaceSelectorMatches(w, pods, obj(), labels)).toBe(true);
    expect(namespaceSelectorMatches(w, pods, obj(undefined, "other"), labels)).toBe(false);
    const ns = { ...pods, resource: "namespaces", namespaced: false };
    expect(namespaceSelectorMatches(w, ns, obj({ env: "prod" }), () => undefined)).toBe(true);
    expect(namespaceSelectorMatches(w, ns, obj({}), () => undefined)).toBe(false);
    expect(namespaceSelectorMatches(w, { ...pods, resource: "nodes", namespaced: false }, obj(), () => undefined)).toBe(true);
    expect(namespaceSelectorMatches({ namespaceSelector: {} } as unknown as Webhook, pods, obj(undefined, "other"), labels)).toBe(true);
  });

  test("objectSelector matches the new or the old object", () => {
    const w = { objectSelector: { matchExpressions: [{ key: "hook", operator: "Exists" }] } } as unknown as Webhook;
    expect(objectSelectorMatches(w, obj({ hook: "" }), undefined)).toBe(true);
    expect(objectSelectorMatches(w, obj({}), obj({ hook: "1" }))).toBe(true);
    expect(objectSelectorMatches(w, obj({}), undefined)).toBe(false);
  });
});

test("the AdmissionReview v1 request carries what upstream sends", () => {
  const w = { name: "a.b.c", admissionReviewVersions: ["v1beta2", "v1"] } as Webhook;
  const review = admissionReview(
    w,
    {
      attrs: { ...pods, operation: "UPDATE", subresource: "status" },
      kind: "Pod",
      name: "web",
      namespace: "default",
      object: { metadata: { name: "web" } },
      oldObject: { metadata: { name: "web", labels: { a: "1" } } },
      dryRun: true,
      user: { username: "alice", groups: ["devs"] },
    },
    "the-uid",
  );
  expect(review).toEqual({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "the-uid",
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      subResource: "status",
      requestKind: { group: "", version: "v1", kind: "Pod" },
      requestResource: { group: "", version: "v1", resource: "pods" },
      requestSubResource: "status",
      name: "web",
      namespace: "default",
      operation: "UPDATE",
      userInfo: { username: "alice", groups: ["devs"] },
      object: { apiVersion: "v1", kind: "Pod", metadata: { name: "web" } },
      oldObject: { apiVersion: "v1", kind: "Pod", metadata: { name: "web", labels: { a: "1" } } },
      dryRun: true,
      options: { apiVersion: "meta.k8s.io/v1", kind: "UpdateOptions" },
    },
  });
});

describe("configuration validation", () => {
  const config = (w: Partial<Webhook>): WebhookConfiguration => {
    const c = { metadata: { name: "c" }, webhooks: [{ name: "hook.example.com", clientConfig: { url: "https://example.com/x" }, sideEffects: "None", admissionReviewVersions: ["v1"], ...w }] } as WebhookConfiguration;
    mutatingWebhookConfigurations.defaults(c);
    return c;
  };
  const errors = (w: Partial<Webhook>) => mutatingWebhookConfigurations.validate(config(w)).map((e) => `${e.field}: ${e.message}`);
  test("defaults as upstream's v1", () => {
    expect(config({ rules: [rule({})] }).webhooks![0]).toMatchObject({ failurePolicy: "Fail", matchPolicy: "Equivalent", timeoutSeconds: 10, reinvocationPolicy: "Never", namespaceSelector: {}, objectSelector: {}, rules: [{ scope: "*" }] });
    expect(errors({})).toEqual([]);
  });
  test("refusals", () => {
    expect(errors({ name: "hook" }).join()).toContain("should be a domain with at least three segments separated by dots");
    expect(errors({ sideEffects: undefined }).join()).toContain("webhooks[0].sideEffects");
    expect(errors({ sideEffects: "Some" }).join()).toContain("webhooks[0].sideEffects");
    expect(errors({ timeoutSeconds: 31 }).join()).toContain("the timeout value must be between 1 and 30 seconds");
    expect(errors({ clientConfig: { url: "http://example.com" } }).join()).toContain("'https' is the only allowed URL scheme");
    expect(errors({ clientConfig: {} }).join()).toContain("exactly one of url or service is required");
    expect(errors({ admissionReviewVersions: ["v2"] }).join()).toContain("must include at least one of v1, v1beta1");
    expect(errors({ rules: [rule({ operations: ["PATCH"] })] }).join()).toContain("webhooks[0].rules[0].operations[0]");
    const dup = { metadata: { name: "c" }, webhooks: [config({}).webhooks![0]!, config({}).webhooks![0]!] } as WebhookConfiguration;
    expect(validatingWebhookConfigurations.validate(dup).map((e) => e.field)).toContain("webhooks[1].name");
  });
});

describe("calling webhooks", () => {
  let hook: TestWebhook;
  let slow: TestWebhook;
  beforeAll(async () => {
    hook = await startTestWebhook((r) => {
      const labels = (r.object ?? (r.oldObject as KubeObject | undefined))?.metadata?.labels ?? {};
      if (labels.deny) return { allowed: false, status: { code: 403, reason: "Forbidden", message: `no ${labels.deny}` }, warnings: ["looked at it"] };
      if (labels.quiet) return { allowed: false };
      return { warnings: ["looked at it"] };
    });
    slow = await startTestWebhook(async () => {
      await Bun.sleep(3_000);
      return {};
    });
  });
  afterAll(() => {
    hook.stop();
    slow.stop();
  });

  const webhook = (name: string, path: string, extra: Partial<Webhook> = {}): Webhook => ({
    name,
    clientConfig: { url: hook.url(path), caBundle: hook.caBundle },
    rules: [rule({ operations: ["*"], resources: ["configmaps"] })],
    sideEffects: "None",
    admissionReviewVersions: ["v1"],
    failurePolicy: "Fail",
    timeoutSeconds: 10,
    ...extra,
  });
  const plugin = (mutating: Webhook[], validating: Webhook[] = []) =>
    new WebhookAdmission({
      mutating: () => (mutating.length ? [{ metadata: { name: "m" }, webhooks: mutating }] : []),
      validating: () => (validating.length ? [{ metadata: { name: "v" }, webhooks: validating }] : []),
      namespaceLabels: () => ({}),
      service: () => undefined,
      endpointSlices: () => [],
    });
  const cm = (labels: Record<string, string> = {}): KubeObject => ({ metadata: { name: "cm", namespace: "default", labels }, data: { a: "b" } });
  const refusal = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      return e as ApiError;
    }
    throw new Error("the write was admitted");
  };

  test("mutating webhooks' patches apply in order; validating webhooks see the result", async () => {
    const adder = (key: string) => webhook(`${key}.example.com`, `/${key}`);
    const labelled = await startTestWebhook((r) => patchOf([{ op: "add", path: `/metadata/labels/${r.object?.metadata?.labels?.first ? "second" : "first"}`, value: "yes" }]));
    try {
      const w1 = { ...adder("one"), clientConfig: { url: labelled.url(), caBundle: labelled.caBundle } };
      const w2 = { ...adder("two"), clientConfig: { url: labelled.url(), caBundle: labelled.caBundle } };
      const obj = cm();
      await plugin([w1, w2], [webhook("check.example.com", "/check")]).admit("create", configMaps, obj, undefined, {});
      expect(obj.metadata.labels).toEqual({ first: "yes", second: "yes" });
      expect(labelled.requests.map((r) => r.operation)).toEqual(["CREATE", "CREATE"]);
      expect(hook.requests.at(-1)!.object!.metadata!.labels).toEqual({ first: "yes", second: "yes" });
    } finally {
      labelled.stop();
    }
  });

  test("reinvocationPolicy IfNeeded calls a webhook again after a later one changed the object", async () => {
    let calls = 0;
    const counter = await startTestWebhook(() => {
      calls++;
      return {};
    });
    const changer = await startTestWebhook(() => patchOf([{ op: "add", path: "/metadata/labels/changed", value: "1" }]));
    try {
      const first = { ...webhook("first.example.com", "/"), clientConfig: { url: counter.url(), caBundle: counter.caBundle }, reinvocationPolicy: "IfNeeded" };
      const second = { ...webhook("second.example.com", "/"), clientConfig: { url: changer.url(), caBundle: changer.caBundle } };
      await plugin([first, second]).admit("create", configMaps, cm(), undefined, {});
      expect(calls).toBe(2);
      calls = 0;
      await plugin([{ ...first, reinvocationPolicy: "Never" }, second]).admit("create", configMaps, cm(), undefined, {});
      expect(calls).toBe(1);
    } finally {
      counter.stop();
      changer.stop();
    }
  });

  test("a denial carries the webhook's code and message; warnings reach the response", async () => {
    const p = plugin([], [webhook("deny.example.com", "/deny")]);
    const e = await refusal(p.admit("create", configMaps, cm({ deny: "way" }), undefined, {}));
    expect(e.code).toBe(403);
    expect(e.message).toBe('admission webhook "deny.example.com" denied the request: no way');
    const quiet = await refusal(p.admit("create", configMaps, cm({ quiet: "1" }), undefined, {}));
    expect(quiet.code).toBe(400);
    expect(quiet.message).toBe('admission webhook "deny.example.com" denied the request without explanation');
    const res = await withWarnings(async () => {
      await p.admit("create", configMaps, cm(), undefined, {});
      return new Response("ok");
    });
    expect(res.headers.get("warning")).toBe('299 - "looked at it"');
  });

  test("a webhook that is down: Fail refuses with upstream's message, Ignore lets the write through", async () => {
    const down = (failurePolicy: string) => ({ ...webhook("down.example.com", "/"), clientConfig: { url: "https://127.0.0.1:1/hook", caBundle: hook.caBundle }, failurePolicy });
    const e = await refusal(plugin([down("Fail")]).admit("create", configMaps, cm(), undefined, {}));
    expect(e.code).toBe(500);
    expect(e.message).toBe('Internal error occurred: failed calling webhook "down.example.com": failed to call webhook: Post "https://127.0.0.1:1/hook?timeout=10s": dial tcp 127.0.0.1:1: connect: connection refused');
    const obj = cm();
    await plugin([down("Ignore")], [down("Ignore")]).admit("create", configMaps, obj, undefined, {});
    expect(obj.data).toEqual({ a: "b" });
  });

  test("an untrusted certificate fails the call", async () => {
    const other = await startTestWebhook(() => ({}));
    try {
      const w = { ...webhook("tls.example.com", "/"), clientConfig: { url: hook.url(), caBundle: other.caBundle } };
      const e = await refusal(plugin([w]).admit("create", configMaps, cm(), undefined, {}));
      expect(e.message).toBe(`Internal error occurred: failed calling webhook "tls.example.com": failed to call webhook: Post "${hook.url()}?timeout=10s": tls: failed to verify certificate: x509: certificate signed by unknown authority`);
    } finally {
      other.stop();
    }
  });

  test("a webhook slower than timeoutSeconds fails the call at the timeout", async () => {
    const w = { ...webhook("slow.example.com", "/"), clientConfig: { url: slow.url(), caBundle: slow.caBundle }, timeoutSeconds: 1 };
    const e = await refusal(plugin([], [w]).admit("create", configMaps, cm(), undefined, {}));
    expect(e.message).toBe(`Internal error occurred: failed calling webhook "slow.example.com": failed to call webhook: Post "${slow.url()}?timeout=1s": context deadline exceeded`);
    await plugin([], [{ ...w, failurePolicy: "Ignore" }]).admit("create", configMaps, cm(), undefined, {});
  });

  test("dry run: sideEffects other than None/NoneOnDryRun is refused", async () => {
    const w = { ...webhook("fx.example.com", "/"), sideEffects: "Some" };
    const e = await refusal(plugin([w]).admit("create", configMaps, cm(), undefined, { dryRun: true }));
    expect(e.code).toBe(400);
    expect(e.message).toBe('admission webhook "fx.example.com" does not support dry run');
    const before = hook.requests.length;
    await plugin([webhook("ok.example.com", "/")]).admit("create", configMaps, cm(), undefined, { dryRun: true });
    expect(hook.requests.at(before)?.dryRun).toBe(true);
  });

  test("webhook configurations are never sent to webhooks; unmatched writes are not sent", async () => {
    const before = hook.requests.length;
    const all = webhook("all.example.com", "/", { rules: [rule({ operations: ["*"], apiGroups: ["*"], apiVersions: ["*"], resources: ["*"] })] });
    await plugin([all]).admit("create", validatingWebhookConfigurations, { metadata: { name: "x" } }, undefined, {});
    await plugin([webhook("cm.example.com", "/", { objectSelector: { matchLabels: { x: "y" } } })]).admit("create", configMaps, cm(), undefined, {});
    expect(hook.requests.length).toBe(before);
  });

  test("a patch that makes the object invalid is refused", async () => {
    const breaker = await startTestWebhook(() => patchOf([{ op: "add", path: "/metadata/labels/bad key", value: "x" }]));
    try {
      const w = { ...webhook("break.example.com", "/"), clientConfig: { url: breaker.url(), caBundle: breaker.caBundle } };
      const e = await refusal(plugin([w]).admit("create", configMaps, cm(), undefined, {}));
      expect(e.code).toBe(422);
    } finally {
      breaker.stop();
    }
  });

  test("a delete is sent with the stored object as oldObject and can be refused", async () => {
    const w = webhook("del.example.com", "/", { rules: [rule({ operations: ["DELETE"], resources: ["configmaps"] })] });
    await plugin([], [w]).admitDelete(configMaps, cm({ keep: "1" }), {});
    const sent = hook.requests.at(-1)!;
    expect(sent.operation).toBe("DELETE");
    expect(sent.object).toBeNull();
    expect((sent.oldObject as KubeObject).metadata.labels).toEqual({ keep: "1" });
    expect(sent.options).toEqual({ apiVersion: "meta.k8s.io/v1", kind: "DeleteOptions" });
    const e = await refusal(plugin([], [w]).admitDelete(configMaps, cm({ deny: "deleting" }), {}));
    expect(e.message).toBe('admission webhook "del.example.com" denied the request: no deleting');
    // CREATE rules do not see deletes.
    const count = hook.requests.length;
    await plugin([webhook("c.example.com", "/", { rules: [rule({ resources: ["configmaps"] })] })], []).admitDelete(configMaps, cm(), {});
    expect(hook.requests.length).toBe(count);
  });

  test("clientConfig.service: a ready endpoint of the Service, the certificate checked for <svc>.<ns>.svc", async () => {
    const inCluster = await startTestWebhook(() => patchOf([{ op: "add", path: "/metadata/labels/via", value: "service" }]), { dns: ["hooks.tools.svc"], ips: [] });
    try {
      const port = Number(new URL(inCluster.url()).port);
      const sources = (serviceName: string) => ({
        mutating: () => [{ metadata: { name: "m" }, webhooks: [{ ...webhook("svc.example.com", "/"), clientConfig: { service: { namespace: "tools", name: serviceName, port: 443, path: "/mutate" }, caBundle: inCluster.caBundle } }] }],
        validating: () => [],
        namespaceLabels: () => ({}),
        service: (ns: string, name: string) => (ns === "tools" ? { spec: { ports: [{ name: "https", port: 443 }] } } : undefined),
        endpointSlices: () => [
          { endpoints: [{ addresses: ["127.0.0.2"], conditions: { ready: false } }], ports: [{ name: "https", port: 1 }] },
          { endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }], ports: [{ name: "https", port }] },
        ],
      });
      const obj = cm();
      await new WebhookAdmission(sources("hooks")).admit("create", configMaps, obj, undefined, {});
      expect(obj.metadata.labels).toEqual({ via: "service" });
      // The same endpoint under another Service name: the certificate does not match.
      const e = await refusal(new WebhookAdmission(sources("other")).admit("create", configMaps, cm(), undefined, {}));
      expect(e.message).toContain('failed calling webhook "svc.example.com": failed to call webhook: Post "https://127.0.0.1:');
      expect(e.message).toEndWith("tls: failed to verify certificate: x509: certificate is not valid for other.tools.svc");
      const none = await refusal(new WebhookAdmission({ ...sources("hooks"), endpointSlices: () => [] }).admit("create", configMaps, cm(), undefined, {}));
      expect(none.message).toBe('Internal error occurred: failed calling webhook "svc.example.com": failed to call webhook: service "tools/hooks" has no ready endpoints');
    } finally {
      inCluster.stop();
    }
  });
});

describe("configuration validation, upstream's cases", () => {
  const errors = (w: Partial<Webhook>) => {
    const c = { metadata: { name: "c" }, webhooks: [{ name: "webhook.k8s.io", clientConfig: { url: "https://example.com/x" }, sideEffects: "None", admissionReviewVersions: ["v1"], ...w }] } as WebhookConfiguration;
    return validatingWebhookConfigurations.validate(c).map((e) => `${e.field}: ${e.message}`);
  };
  const resources = (list: string[]) => errors({ rules: [{ operations: ["CREATE"], apiGroups: ["a"], apiVersions: ["a"], resources: list }] });
  test("resources", () => {
    expect(resources(["*", "a/b", "a/*", "*/b"])).toEqual([]);
    expect(resources(["*", "a"]).join()).toContain("if '*' is present, must not specify other resources without subresources");
    expect(resources(["a/*", "a/x"]).join()).toContain(`webhooks[0].rules[0].resources[1]: Invalid value: "a/x": if 'a/*' is present, must not specify a/x`);
    expect(resources(["*/a", "x/a"]).join()).toContain(`webhooks[0].rules[0].resources[1]: Invalid value: "x/a": if '*/a' is present, must not specify x/a`);
    expect(resources(["*/*", "a"]).join()).toContain("if '*/*' is present, must not specify other resources");
  });
  test("URLs, services, names, sideEffects", () => {
    expect(errors({ clientConfig: { url: "" } }).join()).toContain(`webhooks[0].clientConfig.url: Invalid value: "": host must be provided`);
    expect(errors({ clientConfig: { url: "https:///fancy/webhook" } }).join()).toContain("host must be provided");
    expect(errors({ clientConfig: { url: "https://example.com/#bookmark" } }).join()).toContain(`"bookmark": fragments are not permitted`);
    expect(errors({ clientConfig: { url: "https://example.com?arg=value" } }).join()).toContain(`"arg=value": query parameters are not permitted`);
    expect(errors({ clientConfig: { url: "https://harry.potter@example.com/" } }).join()).toContain(`"harry.potter": user information is not permitted`);
    expect(errors({ clientConfig: { service: { namespace: "ns", name: "n", path: "foo/", port: 443 } } }).join()).toContain(`clientConfig.service.path: Invalid value: "foo/": must start with a '/'`);
    expect(errors({ clientConfig: { service: { namespace: "ns", name: "n", path: "//", port: 443 } } }).join()).toContain(`"//": segment[0] may not be empty`);
    expect(errors({ clientConfig: { service: { namespace: "ns", name: "n", path: "/foo", port: 443 } } })).toEqual([]);
    expect(errors({ name: "k8s.io" })).toEqual([`webhooks[0].name: Invalid value: "k8s.io": should be a domain with at least three segments separated by dots`]);
    expect(errors({ sideEffects: undefined })).toEqual(["webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun"]);
    expect(errors({ sideEffects: "other" })).toEqual([`webhooks[0].sideEffects: Unsupported value: "other": supported values: "None", "NoneOnDryRun"`]);
    expect(errors({ timeoutSeconds: 31 })).toEqual(["webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds"]);
  });
});
