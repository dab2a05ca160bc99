import { describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { MergeList } from "../../../api/schema";
import { applyPatch, STRATEGIC_MERGE_PATCH } from "./index";
import { deployment, DeploymentSchema } from "./testdata";
import { apiErrorOf } from "../testing";

const smp = (original: object, patch: unknown, schema = DeploymentSchema) =>
  applyPatch(STRATEGIC_MERGE_PATCH, original, patch, schema) as any;
const podSpec = (d: any) => d.spec.template.spec;

describe("maps", () => {
  test("merge key by key; null deletes", () => {
    const out = smp(deployment(), { metadata: { labels: { tier: null, env: "prod" } }, spec: { replicas: 5 } });
    expect(out.metadata.labels).toEqual({ app: "web", env: "prod" });
    expect(out.spec.replicas).toBe(5);
    expect(out.spec.selector).toEqual({ matchLabels: { app: "web" } });
  });

  test("null for a missing key is ignored, not stored", () => {
    const out = smp(deployment(), { spec: { paused: null, template: { spec: { nodeSelector: { gpu: null } } } } });
    expect("paused" in out.spec).toBe(false);
    expect(podSpec(out).nodeSelector).toEqual({ disk: "ssd" });
  });

  test("$patch: replace on a map replaces it", () => {
    const out = smp(deployment(), { spec: { template: { spec: { nodeSelector: { $patch: "replace", zone: "a" } } } } });
    expect(podSpec(out).nodeSelector).toEqual({ zone: "a" });
  });

  test("$patch: delete on a map empties it", () => {
    const out = smp(deployment(), { metadata: { labels: { $patch: "delete" } } });
    expect(out.metadata.labels).toEqual({});
  });

  test("$retainKeys drops keys not listed (Deployment strategy switch)", () => {
    const out = smp(deployment(), { spec: { strategy: { $retainKeys: ["type"], type: "Recreate" } } });
    expect(out.spec.strategy).toEqual({ type: "Recreate" });
    expect(apiErrorOf(() => smp(deployment(), { spec: { strategy: { $retainKeys: "type" } } })).code).toBe(400);
    // A key in the patch that retainKeys does not list is a contradiction.
    expect(apiErrorOf(() => smp(deployment(), { spec: { strategy: { $retainKeys: ["type"], rollingUpdate: { maxSurge: 1 } } } })).code).toBe(422);
  });

  test("a Record of objects is walked through its value schema", () => {
    const orig = { ...deployment(), extra: { one: { finalizers: ["a"] } } };
    const out = smp(orig, { extra: { one: { finalizers: ["b"] }, two: { finalizers: ["c"] } } });
    // New elements go before server-only ones when no order is given (upstream does the same).
    expect(out.extra).toEqual({ one: { finalizers: ["b", "a"] }, two: { finalizers: ["c"] } });
  });

  test("scalars and type changes replace", () => {
    const out = smp(deployment(), { spec: { strategy: { rollingUpdate: { maxSurge: 1 } } } });
    expect(out.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: "25%" });
    const out2 = smp(deployment(), { spec: { template: { spec: { nodeSelector: "oops" } } } });
    expect(podSpec(out2).nodeSelector).toBe("oops"); // schema validation rejects it later
  });
});

describe("lists with a merge key", () => {
  test("containers merge by name, untouched ones stay", () => {
    const out = smp(deployment(), { spec: { template: { spec: { containers: [{ name: "web", image: "nginx:1.27" }] } } } });
    const [web, sidecar] = podSpec(out).containers;
    expect(web.image).toBe("nginx:1.27");
    expect(web.env).toHaveLength(2);
    expect(web.ports).toHaveLength(2);
    expect(sidecar).toEqual({ name: "sidecar", image: "busybox", env: [{ name: "X", value: "x" }] });
  });

  test("env merges by name inside a container", () => {
    const out = smp(deployment(), {
      spec: { template: { spec: { containers: [{ name: "web", env: [{ name: "B", value: "two" }, { name: "C", value: "3" }] }] } } },
    });
    expect(podSpec(out).containers[0].env).toEqual([
      { name: "A", value: "1" },
      { name: "B", value: "two" },
      { name: "C", value: "3" },
    ]);
  });

  test("ports merge by containerPort", () => {
    const out = smp(deployment(), {
      spec: { template: { spec: { containers: [{ name: "web", ports: [{ containerPort: 443, protocol: "TCP" }] }] } } },
    });
    expect(podSpec(out).containers[0].ports).toEqual([
      { containerPort: 80, name: "http" },
      { containerPort: 443, name: "https", protocol: "TCP" },
    ]);
  });

  test("$patch: delete removes an element by key", () => {
    const out = smp(deployment(), { spec: { template: { spec: { containers: [{ name: "sidecar", $patch: "delete" }] } } } });
    expect(podSpec(out).containers.map((c: any) => c.name)).toEqual(["web"]);
    const env = smp(deployment(), {
      spec: { template: { spec: { containers: [{ name: "web", env: [{ name: "A", $patch: "delete" }] }] } } },
    });
    expect(podSpec(env).containers[0].env).toEqual([{ name: "B", value: "2" }]);
  });

  test("$patch: replace in a list replaces the whole list", () => {
    const out = smp(deployment(), {
      spec: { template: { spec: { containers: [{ $patch: "replace" }, { name: "only", image: "alpine" }] } } },
    });
    expect(podSpec(out).containers).toEqual([{ name: "only", image: "alpine" }]);
  });

  test("a new element goes through the merge too (no directives stored)", () => {
    const out = smp(deployment(), {
      spec: { template: { spec: { initContainers: [{ name: "init", image: "busybox", env: [{ name: "Z", $patch: "delete" }] }] } } },
    });
    expect(podSpec(out).initContainers).toEqual([{ name: "init", image: "busybox", env: [] }]);
    expect(JSON.stringify(out)).not.toContain("$patch");
  });

  test("a merge key inside a union (T | null)", () => {
    const orig = deployment() as any;
    orig.spec.template.spec.imagePullSecrets = [{ name: "a" }];
    const out = smp(orig, { spec: { template: { spec: { imagePullSecrets: [{ name: "b" }] } } } });
    expect(podSpec(out).imagePullSecrets.map((s: any) => s.name).sort()).toEqual(["a", "b"]);
  });

  test("volumes with merge,retainKeys: $retainKeys inside an element", () => {
    const out = smp(deployment(), {
      spec: { template: { spec: { volumes: [{ name: "data", $retainKeys: ["name", "hostPath"], hostPath: { path: "/srv" } }] } } },
    });
    expect(podSpec(out).volumes).toEqual([{ name: "data", hostPath: { path: "/srv" } }]);
  });

  test("an element without the merge key is 422", () => {
    const e = apiErrorOf(() => smp(deployment(), { spec: { template: { spec: { containers: [{ image: "x" }] } } } }));
    expect(e.code).toBe(422);
    expect(e.message).toContain("does not contain declared merge key: name");
  });

  test("an unknown directive is 400", () => {
    expect(apiErrorOf(() => smp(deployment(), { spec: { template: { spec: { containers: [{ name: "web", $patch: "explode" }] } } } })).code).toBe(400);
    expect(apiErrorOf(() => smp(deployment(), { metadata: { $patch: "explode" } })).code).toBe(400);
  });

  test("mixed element types are 422, never a crash", () => {
    expect(apiErrorOf(() => smp(deployment(), { spec: { template: { spec: { containers: ["web"] } } } })).code).toBe(422);
  });

  test("a brand-new element without $setElementOrder goes first, as upstream", () => {
    const out = smp(deployment(), { spec: { template: { spec: { containers: [{ name: "new", image: "redis" }] } } } });
    expect(podSpec(out).containers.map((c: any) => c.name)).toEqual(["new", "web", "sidecar"]);
  });

  test("without $setElementOrder the patch's order wins, as upstream", () => {
    // Upstream's "preserve the order from the patch in a merging list 2".
    const schema = Type.Object({ list: MergeList(Type.Object({ name: Type.Integer(), value: Type.Optional(Type.String()) }), "name") });
    const out = applyPatch(
      STRATEGIC_MERGE_PATCH,
      { list: [{ name: 1 }, { name: 2, value: "b" }, { name: 3 }] },
      { list: [{ name: 3, value: "c" }, { name: 1, value: "a" }] },
      schema,
    );
    expect(out).toEqual({ list: [{ name: 2, value: "b" }, { name: 3, value: "c" }, { name: 1, value: "a" }] });
  });
});

describe("large lists", () => {
  test("a patch of 50,000 containers merges by key, with deletions and duplicates, in order", () => {
    const n = 50_000;
    const containers = Array.from({ length: n }, (_, i) => ({ name: `c${i}`, image: "x" }));
    const patch = { spec: { template: { spec: { containers: [{ name: "sidecar", $patch: "delete" }, { name: "web", image: "new" }, ...containers, { name: "c7", image: "twice" }] } } } };
    const started = performance.now();
    const out = smp(deployment(), patch);
    console.log(`merged ${n + 2} list items in ${(performance.now() - started).toFixed(0)} ms`);
    const merged = podSpec(out).containers;
    expect(merged.length).toBe(n + 1);
    expect(merged[0]).toMatchObject({ name: "web", image: "new" });
    expect(merged[1]).toEqual({ name: "c0", image: "x" });
    expect(merged.find((c: any) => c.name === "c7")).toEqual({ name: "c7", image: "twice" });
    expect(merged.some((c: any) => c.name === "sidecar")).toBe(false);
  });

  test("scalar sets and $deleteFromPrimitiveList of 50,000 values", () => {
    const values = Array.from({ length: 50_000 }, (_, i) => `f${i}`);
    const doc = { ...deployment(), metadata: { ...deployment().metadata, finalizers: ["keep", ...values] } };
    // The first 25,000 deleted; the patch lists 10,000 that are there already and one new value.
    const out = smp(doc, { metadata: { finalizers: [...values.slice(40_000), "new"], "$deleteFromPrimitiveList/finalizers": values.slice(0, 25_000) } });
    expect(out.metadata.finalizers.length).toBe(25_002);
    expect(new Set(out.metadata.finalizers).size).toBe(25_002);
    expect(out.metadata.finalizers[0]).toBe("keep");
    expect(out.metadata.finalizers).toContain("new");
    expect(out.metadata.finalizers).not.toContain("f24999");
  });
});

describe("lists without a merge strategy and lists of scalars", () => {
  test("args and tolerations are replaced", () => {
    const out = smp(deployment(), {
      spec: { template: { spec: { tolerations: [{ key: "b", operator: "Exists" }], containers: [{ name: "web", args: ["--c"] }] } } },
    });
    expect(podSpec(out).tolerations).toEqual([{ key: "b", operator: "Exists" }]);
    expect(podSpec(out).containers[0].args).toEqual(["--c"]);
  });

  test("finalizers merge as a set", () => {
    const out = smp(deployment(), { metadata: { finalizers: ["example.com/b", "example.com/c"] } });
    expect(out.metadata.finalizers).toEqual(["example.com/a", "example.com/b", "example.com/c"]);
  });

  test("$deleteFromPrimitiveList removes values", () => {
    const out = smp(deployment(), {
      metadata: { "$deleteFromPrimitiveList/finalizers": ["example.com/a"], finalizers: ["example.com/c"] },
    });
    expect(out.metadata.finalizers).toEqual(["example.com/c", "example.com/b"]);
    const none = smp({ metadata: { name: "x" } }, { metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] } });
    expect(none.metadata).toEqual({ name: "x" });
  });

  test("$setElementOrder on a scalar list", () => {
    const out = smp(deployment(), {
      metadata: { "$setElementOrder/finalizers": ["example.com/b", "example.com/a"] },
    });
    expect(out.metadata.finalizers).toEqual(["example.com/b", "example.com/a"]);
  });
});

describe("what kubectl apply sends", () => {
  test("image change plus one env var, with $setElementOrder", () => {
    // kubectl apply after editing the manifest: image bumped, env C added between A and B.
    const patch = {
      metadata: { annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{...}" } },
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "web" }, { name: "sidecar" }],
            containers: [
              {
                "$setElementOrder/env": [{ name: "A" }, { name: "C" }, { name: "B" }],
                env: [{ name: "C", value: "3" }],
                image: "nginx:1.27",
                name: "web",
              },
            ],
          },
        },
      },
    };
    const out = smp(deployment(), patch);
    expect(out.metadata.annotations).toEqual({ "kubectl.kubernetes.io/last-applied-configuration": "{...}" });
    const [web, sidecar] = podSpec(out).containers;
    expect(web.image).toBe("nginx:1.27");
    expect(web.env.map((e: any) => e.name)).toEqual(["A", "C", "B"]);
    expect(sidecar.name).toBe("sidecar");
    expect(JSON.stringify(out)).not.toContain("$setElementOrder");
  });

  test("removing a container from the manifest: delete directive plus order", () => {
    const patch = {
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "web" }],
            containers: [{ $patch: "delete", name: "sidecar" }],
          },
        },
      },
    };
    expect(podSpec(smp(deployment(), patch)).containers.map((c: any) => c.name)).toEqual(["web"]);
  });

  test("reordering containers and adding one", () => {
    const patch = {
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "sidecar" }, { name: "new" }, { name: "web" }],
            containers: [{ name: "new", image: "redis" }],
          },
        },
      },
    };
    expect(podSpec(smp(deployment(), patch)).containers.map((c: any) => c.name)).toEqual(["sidecar", "new", "web"]);
  });

  test("server-only elements keep their place relative to the ordered ones", () => {
    // A container injected by something other than the manifest (say, a mesh sidecar) stays put.
    const orig = deployment() as any;
    orig.spec.template.spec.containers.splice(1, 0, { name: "injected", image: "proxy" });
    const patch = {
      spec: { template: { spec: { "$setElementOrder/containers": [{ name: "web" }, { name: "sidecar" }], containers: [{ name: "web", image: "v2" }] } } },
    };
    expect(podSpec(smp(orig, patch)).containers.map((c: any) => c.name)).toEqual(["web", "injected", "sidecar"]);
  });

  test("an order that contradicts the patch list is 400", () => {
    const patch = {
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "web" }, { name: "sidecar" }],
            containers: [{ name: "sidecar", image: "a" }, { name: "web", image: "b" }],
          },
        },
      },
    };
    expect(apiErrorOf(() => smp(deployment(), patch)).code).toBe(400);
  });

  test("dropping a field from the manifest sends null", () => {
    const out = smp(deployment(), { spec: { template: { spec: { nodeSelector: null } } } });
    expect("nodeSelector" in podSpec(out)).toBe(false);
  });
});

describe("safety", () => {
  test("the original is never modified", () => {
    const orig = deployment();
    const snapshot = structuredClone(orig);
    smp(orig, { metadata: { labels: { app: null } }, spec: { template: { spec: { containers: [{ name: "web", $patch: "delete" }] } } } });
    expect(orig).toEqual(snapshot);
  });

  test("__proto__ keys stay data", () => {
    const patch = JSON.parse('{"metadata":{"labels":{"__proto__":{"polluted":"yes"}}}}');
    const out = smp(deployment(), patch);
    expect(({} as any).polluted).toBeUndefined();
    expect((out.metadata.labels as any).polluted).toBeUndefined();
    expect(Object.keys(out.metadata.labels)).toContain("__proto__");
  });

  test("fields unknown to the schema merge as plain maps, their lists replaced", () => {
    const out = smp({ metadata: { name: "x" }, weird: { a: [1, 2], b: 1 } }, { weird: { a: [3] } });
    expect(out.weird).toEqual({ a: [3], b: 1 });
  });

  test("recursive schemas resolve $ref", () => {
    const Node = Type.Recursive((This) =>
      Type.Object({ name: Type.String(), children: Type.Optional(MergeList(This, "name")) }),
    );
    const out = applyPatch(
      STRATEGIC_MERGE_PATCH,
      { name: "root", children: [{ name: "a", children: [{ name: "x" }] }] },
      { children: [{ name: "a", children: [{ name: "y" }] }] },
      Node,
    );
    expect(out).toEqual({ name: "root", children: [{ name: "a", children: [{ name: "y" }, { name: "x" }] }] });
  });
});
