// startClusterRoleAggregationController: a ClusterRole with an aggregationRule gets as its rules
// the rules of every other ClusterRole one of its clusterRoleSelectors matches (without
// repeats), as upstream's clusterrole-aggregation controller. This is how `admin`, `edit` and
// `view` grow: a ClusterRole labelled rbac.authorization.k8s.io/aggregate-to-view=true adds its
// rules to view (and, as view is itself labelled aggregate-to-edit, to edit and then admin).
import { ApiError } from "../../../api/errors";
import type { ClusterRole, PolicyRule } from "../../../api/resources/rbac/rbac";
import { KINDS } from "../../../api/kinds";
import { labelSelectorFromObject } from "../../../api/selectors";
import type { KubeClient } from "../../../client/client";
import { ControlLoop } from "../../../machinery/controlloop";
import { SharedInformers } from "../informers";

/** The rules `role` aggregates from `all`, in name order, each rule once. */
export function aggregatedRules(role: ClusterRole, all: ClusterRole[]): PolicyRule[] | undefined {
  const selectors = role.aggregationRule?.clusterRoleSelectors;
  if (!selectors) return undefined;
  const parsed = selectors.map((s) => labelSelectorFromObject(s));
  const out: PolicyRule[] = [];
  const seen = new Set<string>();
  const sources = all.filter((r) => r.metadata.name !== role.metadata.name).sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  for (const source of sources) {
    const labels = source.metadata.labels ?? {};
    if (!parsed.some((s) => s.matches(labels))) continue;
    for (const rule of source.rules ?? []) {
      const key = JSON.stringify(rule);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(rule);
    }
  }
  return out;
}

/** Every aggregating role of `roles` with its rules collected, repeated until nothing changes (view → edit → admin). */
export function aggregateAll(roles: ClusterRole[]): ClusterRole[] {
  const out = roles.map((r) => structuredClone(r));
  for (let changed = true; changed; ) {
    changed = false;
    for (const r of out) {
      const rules = aggregatedRules(r, out);
      if (rules && JSON.stringify(rules) !== JSON.stringify(r.rules ?? [])) {
        r.rules = rules;
        changed = true;
      }
    }
  }
  return out;
}

export async function startClusterRoleAggregationController(client: KubeClient, opts: { informers?: SharedInformers } = {}): Promise<{ stop(): Promise<void> }> {
  const shared = opts.informers ?? new SharedInformers(client);
  const roles = shared.get<ClusterRole>(KINDS.clusterRoles);
  const rolesClient = client.resource<ClusterRole>(KINDS.clusterRoles);
  const loop = new ControlLoop(
    {
      name: "clusterrole-aggregation",
      async reconcile(key) {
        const role = roles.get(key);
        if (!role) return;
        const rules = aggregatedRules(role, roles.list());
        if (!rules || JSON.stringify(rules) === JSON.stringify(role.rules ?? [])) return;
        try {
          await rolesClient.update({ ...role, rules });
        } catch (e) {
          // A newer version is on its way through the informer, which enqueues it again.
          if (e instanceof ApiError && (e.code === 409 || e.code === 404)) return;
          throw e;
        }
      },
    },
    1,
  );
  // Any change may alter what an aggregating role collects: look at each of them again.
  const enqueueAggregating = () => {
    for (const r of roles.list()) if (r.aggregationRule) loop.enqueue(r.metadata.name!);
  };
  shared.on(roles, { add: enqueueAggregating, update: enqueueAggregating, delete: enqueueAggregating });
  await shared.start(roles);
  loop.start();
  return {
    async stop() {
      await loop.stop();
      if (!opts.informers) shared.stop();
    },
  };
}
