// Keeps an RbacIndex current from the API server's watch cache: a list of each RBAC kind at one
// revision, then the cache's events from that revision on.
import { KINDS } from "../../../api/kinds";
import type { KubeObject } from "../../../api/meta";
import type { ApiContext } from "../../apiserver/handlers/context";
import { listPrefix } from "../../apiserver/objects/keys";
import type { RbacIndex, RbacKind } from "./index";

const FED: [RbacKind, { group: string; plural: string }][] = [
  ["Role", KINDS.roles],
  ["ClusterRole", KINDS.clusterRoles],
  ["RoleBinding", KINDS.roleBindings],
  ["ClusterRoleBinding", KINDS.clusterRoleBindings],
];

export function feedRbacIndex(ctx: ApiContext, index: RbacIndex): { stop(): void } {
  const watches = FED.map(([kind, k]) => {
    const def = ctx.resource(k.group, k.plural);
    const { items, revision } = ctx.objects.list(def);
    for (const o of items) index.put(kind, o as never);
    return ctx.cache.watch(listPrefix(def), revision, (e) => {
      const obj = JSON.parse(e.value) as KubeObject;
      if (e.type === "DELETED") index.delete(kind, obj.metadata.namespace, obj.metadata.name!);
      else index.put(kind, obj as never);
    });
  });
  return { stop: () => watches.forEach((w) => w.stop()) };
}
