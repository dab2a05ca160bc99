import { describe, expect, test } from "bun:test";
import {
  fieldInvalid,
  isConfigMapKey,
  isDns1035Label,
  isDns1123Label,
  isDns1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  validateDataKeys,
  validateLabelSelector,
  validateLabels,
  validateObjectMeta,
  validatePortName,
  validatePortNumber,
} from "./validation";
import { invalid, fieldCauses } from "./errors";

describe("DNS names", () => {
  test("labels", () => {
    for (const ok of ["a", "web", "my-name", "123-abc", "a".repeat(63)]) expect(isDns1123Label(ok)).toEqual([]);
    for (const bad of ["", "-a", "a-", "A", "a.b", "a_b", "a".repeat(64)]) expect(isDns1123Label(bad).length).toBeGreaterThan(0);
    expect(isDns1123Label("Web")[0]).toBe(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    );
    expect(isDns1123Label("a".repeat(64))).toEqual(["must be no more than 63 characters"]);
  });

  test("subdomains", () => {
    for (const ok of ["example.com", "a", "web-1.default.svc", "1.2.3"]) expect(isDns1123Subdomain(ok)).toEqual([]);
    for (const bad of ["", ".a", "a.", "a..b", "Foo", "a_b"]) expect(isDns1123Subdomain(bad).length).toBe(1);
    expect(isDns1123Subdomain("a".repeat(254))).toEqual(["must be no more than 253 characters"]);
    expect(isDns1123Subdomain("Foo")[0]).toContain("a lowercase RFC 1123 subdomain must consist of");
  });

  test("DNS-1035 labels must start with a letter", () => {
    expect(isDns1035Label("web")).toEqual([]);
    expect(isDns1035Label("1web")[0]).toContain("a DNS-1035 label");
  });
});

describe("qualified names and label values", () => {
  test("qualified names", () => {
    for (const ok of ["app", "App_Name.x", "example.com/name", "app.kubernetes.io/name", "kubernetes.io/os"])
      expect(isQualifiedName(ok)).toEqual([]);
    expect(isQualifiedName("/name")).toEqual(["prefix part must be non-empty"]);
    expect(isQualifiedName("Example.com/name")[0]).toStartWith("prefix part a lowercase RFC 1123 subdomain");
    expect(isQualifiedName("example.com/")).toContain("name part must be non-empty");
    expect(isQualifiedName("a/b/c")[0]).toEndWith("with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    expect(isQualifiedName("x".repeat(64))).toEqual(["name part must be no more than 63 characters"]);
    expect(isQualifiedName("-x")[0]).toStartWith("name part must consist of alphanumeric characters");
  });

  test("label values may be empty", () => {
    expect(isValidLabelValue("")).toEqual([]);
    expect(isValidLabelValue("v1.2_3-x")).toEqual([]);
    expect(isValidLabelValue("a b")[0]).toContain("a valid label must be an empty string");
    expect(isValidLabelValue("x".repeat(64))).toContain("must be no more than 63 characters");
  });

  test("validateLabels reports keys and values at the map path", () => {
    const errs = validateLabels({ "bad key": "v", ok: "bad value" }, "metadata.labels");
    expect(errs.map((e) => e.field)).toEqual(["metadata.labels", "metadata.labels"]);
    expect(errs[0].message).toStartWith('Invalid value: "bad key": name part must consist');
    expect(errs[1].message).toStartWith('Invalid value: "bad value": a valid label');
  });
});

describe("data keys", () => {
  test("config keys", () => {
    expect(isConfigMapKey("app.properties")).toEqual([]);
    expect(isConfigMapKey("KEY_NAME")).toEqual([]);
    expect(isConfigMapKey(".")).toEqual(["must not be '.'"]);
    expect(isConfigMapKey("..")).toEqual(["must not be '..'"]);
    expect(isConfigMapKey("..x")).toEqual(["must not start with '..'"]);
    expect(isConfigMapKey("a/b")[0]).toContain("a valid config key");
  });
  test("validateDataKeys uses data[key] paths", () => {
    expect(validateDataKeys(undefined, "data")).toEqual([]);
    const errs = validateDataKeys({ "a/b": "x", good: "y" }, "data");
    expect(errs).toHaveLength(1);
    expect(errs[0].field).toBe("data[a/b]");
  });
});

describe("ports", () => {
  test("names", () => {
    expect(validatePortName("http", "p")).toEqual([]);
    expect(validatePortName("http-metrics", "p")).toEqual([]);
    const msgs = (n: string) => validatePortName(n, "p").map((e) => e.message.replace(/^Invalid value: "[^"]*": /, ""));
    expect(msgs("8080")).toEqual(["must contain at least one letter (a-z)"]);
    expect(msgs("a--b")).toEqual(["must not contain consecutive hyphens"]);
    expect(msgs("-ab")).toEqual(["must not begin or end with a hyphen"]);
    expect(msgs("HTTP")).toContain("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
    expect(msgs("a".repeat(16))).toEqual(["must be no more than 15 characters"]);
  });
  test("numbers", () => {
    expect(validatePortNumber(80, "spec.ports[0].port")).toEqual([]);
    expect(validatePortNumber(65535, "x")).toEqual([]);
    const [e] = validatePortNumber(70000, "spec.ports[0].port");
    expect(e).toEqual({ field: "spec.ports[0].port", type: "Invalid", message: "Invalid value: 70000: must be between 1 and 65535, inclusive" });
    expect(validatePortNumber(0, "x")).toHaveLength(1);
    expect(validatePortNumber(1.5, "x")).toHaveLength(1);
  });
});

describe("validateObjectMeta", () => {
  test("a good namespaced object", () => {
    expect(
      validateObjectMeta(
        {
          name: "web",
          namespace: "default",
          labels: { app: "web", "app.kubernetes.io/name": "web" },
          annotations: { "Example.com/Note": "free text with spaces" },
          finalizers: ["example.com/cleanup"],
          ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-1", uid: "u1", controller: true }],
        },
        { namespaced: true },
      ),
    ).toEqual([]);
  });

  test("name or generateName is required", () => {
    const errs = validateObjectMeta({ namespace: "default" }, { namespaced: true });
    expect(errs).toEqual([{ field: "metadata.name", type: "Required", message: "Required value: name or generateName is required" }]);
    expect(validateObjectMeta({ generateName: "web-", namespace: "default" }, { namespaced: true })).toEqual([]);
    expect(validateObjectMeta({ generateName: "Web-", namespace: "default" }, { namespaced: true })[0].field).toBe("metadata.generateName");
  });

  test("the message reads like upstream's once wrapped in an Invalid status", () => {
    const errs = validateObjectMeta({ name: "Web", namespace: "default" }, { namespaced: true });
    const status = invalid({ group: "", plural: "configmaps", kind: "ConfigMap" }, "Web", fieldCauses(errs)).toStatus();
    expect(status.message).toStartWith('ConfigMap "Web" is invalid: metadata.name: Invalid value: "Web": a lowercase RFC 1123 subdomain');
    expect(status.details?.causes?.[0]).toMatchObject({ reason: "FieldValueInvalid", field: "metadata.name" });
  });

  test("label names when asked", () => {
    expect(validateObjectMeta({ name: "a.b" }, { namespaced: false })).toEqual([]);
    expect(validateObjectMeta({ name: "a.b" }, { namespaced: false, nameValidator: isDns1123Label })[0].message).toContain("RFC 1123 label");
    expect(validateObjectMeta({ name: "1svc", namespace: "d" }, { namespaced: true, nameValidator: isDns1035Label })).toHaveLength(1);
  });

  test("namespace required iff namespaced", () => {
    expect(validateObjectMeta({ name: "x" }, { namespaced: true })).toEqual([
      { field: "metadata.namespace", type: "Required", message: "Required value" },
    ]);
    expect(validateObjectMeta({ name: "x", namespace: "Bad" }, { namespaced: true })[0].field).toBe("metadata.namespace");
    expect(validateObjectMeta({ name: "x", namespace: "default" }, { namespaced: false })[0]).toMatchObject({
      field: "metadata.namespace",
      type: "Forbidden",
    });
  });

  test("labels, annotations and their total size", () => {
    const errs = validateObjectMeta({ name: "x", labels: { "a b": "c" }, annotations: { "/x": "y" } }, { namespaced: false });
    expect(errs.map((e) => e.field)).toEqual(["metadata.labels", "metadata.annotations"]);
    const big = validateObjectMeta({ name: "x", annotations: { a: "x".repeat(256 * 1024) } }, { namespaced: false });
    expect(big).toEqual([{ field: "metadata.annotations", type: "TooLong", message: "Too long: must have at most 262144 bytes" }]);
  });

  test("owner references and finalizers", () => {
    const errs = validateObjectMeta(
      {
        name: "x",
        ownerReferences: [
          { apiVersion: "", kind: "A", name: "a", uid: "1", controller: true },
          { apiVersion: "v1", kind: "B", name: "b", uid: "", controller: true },
        ],
        finalizers: ["bad/finalizer/name", "orphan", "foregroundDeletion"],
      },
      { namespaced: false },
    );
    expect(errs.map((e) => e.field)).toEqual([
      "metadata.ownerReferences.apiVersion",
      "metadata.ownerReferences.uid",
      "metadata.ownerReferences",
      "metadata.finalizers",
      "metadata.finalizers",
    ]);
    expect(errs[2].message).toContain("Only one reference can have Controller set to true");
    expect(errs[4].message).toContain("finalizer orphan and foregroundDeletion cannot be both set");
  });

  test("negative generation", () => {
    expect(validateObjectMeta({ name: "x", generation: -1 }, { namespaced: false })[0].field).toBe("metadata.generation");
  });
});

describe("validateLabelSelector", () => {
  test("valid selectors", () => {
    expect(validateLabelSelector(undefined, "spec.selector")).toEqual([]);
    expect(
      validateLabelSelector(
        { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "In", values: ["a", "b"] }, { key: "x", operator: "Exists" }] },
        "spec.selector",
      ),
    ).toEqual([]);
  });
  test("operator rules", () => {
    const errs = validateLabelSelector(
      {
        matchLabels: { "bad key": "v" },
        matchExpressions: [
          { key: "a", operator: "In", values: [] },
          { key: "b", operator: "Exists", values: ["x"] },
          { key: "c", operator: "Equals", values: ["x"] },
          { key: "d e", operator: "NotIn", values: ["bad value"] },
        ],
      },
      "spec.selector",
    );
    expect(errs.map((e) => [e.field, e.type])).toEqual([
      ["spec.selector.matchLabels", "Invalid"],
      ["spec.selector.matchExpressions[0].values", "Required"],
      ["spec.selector.matchExpressions[1].values", "Forbidden"],
      ["spec.selector.matchExpressions[2].operator", "Invalid"],
      ["spec.selector.matchExpressions[3].key", "Invalid"],
      ["spec.selector.matchExpressions[3].values[0]", "Invalid"],
    ]);
  });
});

test("fieldInvalid renders numbers bare and strings quoted", () => {
  expect(fieldInvalid("f", 3, "d").message).toBe("Invalid value: 3: d");
  expect(fieldInvalid("f", "s", "d").message).toBe('Invalid value: "s": d');
});

test("an Invalid status names each distinct error once in its message and keeps every cause", async () => {
  const { invalid } = await import("./errors");
  const same = { field: "spec.scopes", message: "Invalid value: [\"BestEffort\"]: unsupported scope applied to resource", reason: "FieldValueInvalid" };
  const err = invalid({ group: "", kind: "ResourceQuota", plural: "resourcequotas" } as never, "q", [same, same, { field: "spec.hard", message: "Required value", reason: "FieldValueRequired" }]);
  expect(err.message).toBe('ResourceQuota "q" is invalid: spec.scopes: Invalid value: ["BestEffort"]: unsupported scope applied to resource, spec.hard: Required value');
  expect(err.details?.causes).toHaveLength(3);
});
