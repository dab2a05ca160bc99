import { expect, test } from "bun:test";
import type { KubeObject } from "../../api/meta";
import type { Informer, InformerHandlers } from "../../client/informer";
import { ControllerIndex, NamespaceIndex } from "./nsindex";

/** Just enough of an informer to drive an index's handlers by hand. */
function fakeInformer() {
  const handlers: InformerHandlers<KubeObject>[] = [];
  const inf = { on: (h: InformerHandlers<KubeObject>) => (handlers.push(h), inf) } as unknown as Informer<KubeObject>;
  return {
    inf,
    add: (o: KubeObject) => handlers.forEach((h) => h.add?.(o)),
    update: (old: KubeObject, o: KubeObject) => handlers.forEach((h) => h.update?.(old, o)),
    delete: (o: KubeObject) => handlers.forEach((h) => h.delete?.(o)),
  };
}

const obj = (name: string, ns: string, controller?: string): KubeObject => ({
  metadata: {
    name,
    namespace: ns,
    ...(controller && { ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: controller, controller: true }] }),
  },
});
const names = (l: KubeObject[]) => l.map((o) => o.metadata.name).sort();

test("objects are filed by controller uid, orphans by namespace, and move when their controller changes", () => {
  const f = fakeInformer();
  const idx = new ControllerIndex(f.inf);
  f.add(obj("a", "ns1", "u1"));
  f.add(obj("b", "ns1", "u1"));
  f.add(obj("c", "ns1"));
  f.add(obj("d", "ns2"));
  expect(names(idx.controlledBy("u1"))).toEqual(["a", "b"]);
  expect(names(idx.orphansIn("ns1"))).toEqual(["c"]);
  expect(idx.hasOrphans("ns3")).toBe(false);

  f.update(obj("c", "ns1"), obj("c", "ns1", "u2")); // adopted
  expect(idx.hasOrphans("ns1")).toBe(false);
  expect(names(idx.controlledBy("u2"))).toEqual(["c"]);
  f.update(obj("a", "ns1", "u1"), obj("a", "ns1")); // released
  expect(names(idx.controlledBy("u1"))).toEqual(["b"]);
  expect(names(idx.orphansIn("ns1"))).toEqual(["a"]);
  f.delete(obj("b", "ns1", "u1"));
  expect(idx.controlledBy("u1")).toEqual([]);
});

test("the namespace index lists one namespace", () => {
  const f = fakeInformer();
  const idx = new NamespaceIndex(f.inf);
  f.add(obj("a", "ns1"));
  f.add(obj("b", "ns2"));
  f.delete(obj("a", "ns1"));
  expect(idx.list("ns1")).toEqual([]);
  expect(names(idx.list("ns2"))).toEqual(["b"]);
});

test("ControllerIndex.of gives every controller on one shared informer the same index", async () => {
  const { SharedInformers } = await import("./informers");
  const f = fakeInformer();
  const shared = { on: (inf: Informer<KubeObject>, h: InformerHandlers<KubeObject>) => inf.on(h) } as unknown as InstanceType<typeof SharedInformers>;
  const a = ControllerIndex.of(f.inf, shared);
  expect(ControllerIndex.of(f.inf, shared)).toBe(a);
  f.add(obj("p", "ns1", "u1"));
  expect(names(a.controlledBy("u1"))).toEqual(["p"]);
  // Without shared informers each caller owns its informer, and its index.
  expect(ControllerIndex.of(f.inf)).not.toBe(a);
});
