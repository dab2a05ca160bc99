// The steps every strategy shares: finding or creating the new ReplicaSet (with revision
// bookkeeping), scaling one ReplicaSet, and scaling all of them proportionally when the
// Deployment's replica count changes in the middle of a rollout.
import { ApiError } from "../../../api/errors";
import type { ReplicaSet } from "../../../api/resources/apps/replicaset";
import { controllerRefTo } from "../ownership";
import { requeueAfter, writeAnnotation, writeStatus, type SyncContext } from "./context";
import { computeHash, POD_TEMPLATE_HASH, templatesEqualIgnoringHash } from "./hash";
import { cleanupDeployment, setNewReplicaSetAnnotations } from "./history";
import {
  bySizeNewer,
  bySizeOlder,
  byCreation,
  desiredReplicas,
  desiredReplicasAnnotation,
  filterActive,
  findNewReplicaSet,
  isRollingUpdate,
  isSaturated,
  maxReplicasAnnotation,
  maxRevision,
  maxSurge,
  newRSNewReplicas,
  replicaCount,
  REVISION,
  setReplicasAnnotations,
  specReplicas,
} from "./rsutil";
import { FAILED_RS_CREATE, FOUND_NEW_RS, getCondition, hasProgressDeadline, NEW_RS_CREATED, newCondition, setCondition, syncDeploymentStatus } from "./status";
import { controllerRefOf } from "../podutil";

export interface ReplicaSets {
  newRS?: ReplicaSet;
  oldRSs: ReplicaSet[];
}

/** Splits the ReplicaSets into new and old, creating the new one if asked, and syncs revisions. */
export async function getAllReplicaSetsAndSyncRevision(ctx: SyncContext, create: boolean): Promise<ReplicaSets> {
  const found = findNewReplicaSet(ctx.d, ctx.rsList);
  const oldRSs = ctx.rsList.filter((rs) => rs !== found);
  const newRS = await getNewReplicaSet(ctx, found, oldRSs, create);
  return { newRS, oldRSs };
}

async function setDeploymentRevision(ctx: SyncContext, revision: string) {
  if (ctx.d.metadata.annotations?.[REVISION] !== revision) await writeAnnotation(ctx, REVISION, revision);
}

async function getNewReplicaSet(ctx: SyncContext, existing: ReplicaSet | undefined, oldRSs: ReplicaSet[], create: boolean): Promise<ReplicaSet | undefined> {
  const d = ctx.d;
  const newRevision = maxRevision(oldRSs) + 1;
  if (existing) {
    const copy = structuredClone(existing);
    const annotationsChanged = setNewReplicaSetAnnotations(d, copy, newRevision, true);
    const minReadyChanged = (copy.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
    if (annotationsChanged || minReadyChanged) {
      const updated = await ctx.replicaSets.patch(copy.metadata.namespace, copy.metadata.name!, {
        metadata: { annotations: copy.metadata.annotations, resourceVersion: copy.metadata.resourceVersion },
        spec: { minReadySeconds: d.spec?.minReadySeconds ?? 0 },
      });
      Object.assign(existing, updated);
      // As upstream: the Deployment's own revision catches up on the next pass, which this
      // ReplicaSet's update event triggers.
      return existing;
    }
    await setDeploymentRevision(ctx, copy.metadata.annotations?.[REVISION] ?? String(newRevision));
    if (hasProgressDeadline(d) && !getCondition(d.status, "Progressing")) {
      const status = structuredClone(d.status ?? {});
      setCondition(status, newCondition("Progressing", "True", FOUND_NEW_RS, `Found new replica set "${existing.metadata.name}"`));
      await writeStatus(ctx, status);
    }
    return existing;
  }
  if (!create) return undefined;
  return createNewReplicaSet(ctx, oldRSs, newRevision);
}

async function createNewReplicaSet(ctx: SyncContext, oldRSs: ReplicaSet[], newRevision: number): Promise<ReplicaSet | undefined> {
  const d = ctx.d;
  const hash = computeHash(d.spec!.template, d.status?.collisionCount);
  const template = structuredClone(d.spec!.template);
  template.metadata ??= {};
  template.metadata.labels = { ...template.metadata.labels, [POD_TEMPLATE_HASH]: hash };
  const selector = structuredClone(d.spec!.selector);
  selector.matchLabels = { ...selector.matchLabels, [POD_TEMPLATE_HASH]: hash };
  const rs: ReplicaSet = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      labels: { ...template.metadata.labels },
      ownerReferences: [controllerRefTo({ apiVersion: "apps/v1", kind: "Deployment", obj: d })],
    },
    spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
  };
  rs.spec!.replicas = newRSNewReplicas(d, [...oldRSs, rs], rs);
  setNewReplicaSetAnnotations(d, rs, newRevision, false);

  let created: ReplicaSet;
  let alreadyExisted = false;
  try {
    created = await ctx.replicaSets.create(d.metadata.namespace, rs);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.code === 409 && e.reason === "AlreadyExists") {
      const other = await ctx.replicaSets.get(d.metadata.namespace, rs.metadata.name!);
      if (controllerRefOf(other)?.uid === d.metadata.uid && templatesEqualIgnoringHash(other.spec?.template, d.spec?.template)) {
        // Ours, only not in our cache yet: not a collision.
        created = other;
        alreadyExisted = true;
      } else {
        // A different ReplicaSet has this name: bump collisionCount so the next hash differs.
        const status = structuredClone(d.status ?? {});
        status.collisionCount = (status.collisionCount ?? 0) + 1;
        await writeStatus(ctx, status);
        requeueAfter(ctx, 0);
        return undefined;
      }
    } else if (e.code === 403 && /being terminated/.test(e.message)) {
      return undefined;
    } else {
      const msg = `Failed to create new replica set "${rs.metadata.name}": ${e.message}`;
      if (hasProgressDeadline(d)) {
        const status = structuredClone(d.status ?? {});
        setCondition(status, newCondition("Progressing", "False", FAILED_RS_CREATE, msg));
        await writeStatus(ctx, status);
      }
      ctx.recorder.event(d, "Warning", FAILED_RS_CREATE, msg);
      throw e;
    }
  }
  if (!alreadyExisted && specReplicas(created) > 0)
    ctx.recorder.event(d, "Normal", "ScalingReplicaSet", `Scaled up replica set ${created.metadata.name} from 0 to ${specReplicas(created)}`);
  const copy = structuredClone(created);
  ctx.rsList.push(copy);
  await setDeploymentRevision(ctx, String(newRevision));
  if (!alreadyExisted && hasProgressDeadline(d)) {
    const status = structuredClone(d.status ?? {});
    setCondition(status, newCondition("Progressing", "True", NEW_RS_CREATED, `Created new replica set "${created.metadata.name}"`));
    await writeStatus(ctx, status);
  }
  return copy;
}

/**
 * Sets a ReplicaSet's replicas (and the desired/max annotations), pinned to the version we
 * read. Returns whether the replica count changed.
 */
export async function scaleReplicaSet(ctx: SyncContext, rs: ReplicaSet, to: number, operation?: "up" | "down"): Promise<boolean> {
  const d = ctx.d;
  const from = specReplicas(rs);
  const sizeChanges = from !== to;
  const probe = structuredClone(rs);
  const annotationsChange = setReplicasAnnotations(probe, desiredReplicas(d), desiredReplicas(d) + maxSurge(d));
  if (!sizeChanges && !annotationsChange) return false;
  const updated = await ctx.replicaSets.patch(rs.metadata.namespace, rs.metadata.name!, {
    metadata: { annotations: probe.metadata.annotations, resourceVersion: rs.metadata.resourceVersion },
    spec: { replicas: to },
  });
  Object.assign(rs, updated);
  if (sizeChanges) {
    const op = operation ?? (to > from ? "up" : "down");
    ctx.recorder.event(d, "Normal", "ScalingReplicaSet", `Scaled ${op} replica set ${rs.metadata.name} from ${from} to ${to}`);
  }
  return sizeChanges;
}

/** The one ReplicaSet with pods, or the newest if none has any; undefined during a rollout. */
function findActiveOrLatest(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): ReplicaSet | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const olds = [...oldRSs].sort(byCreation).reverse();
  const active = filterActive([...olds, newRS]);
  if (active.length === 0) return newRS ?? olds[0];
  return active.length === 1 ? active[0] : undefined;
}

/** How many replicas to add to (or take from) `rs`: its share of the change, by its max-replicas. */
function proportion(ctx: SyncContext, rs: ReplicaSet, toAdd: number, added: number): number {
  if (specReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const d = ctx.d;
  let fraction: number;
  if (desiredReplicas(d) === 0) fraction = -specReplicas(rs);
  else {
    const deploymentReplicas = desiredReplicas(d) + maxSurge(d);
    const annotated = maxReplicasAnnotation(rs) ?? d.status?.replicas ?? 0;
    // Go's math.Round: halves away from zero.
    const exact = annotated === 0 ? 0 : (specReplicas(rs) * deploymentReplicas) / annotated;
    fraction = Math.sign(exact) * Math.round(Math.abs(exact)) - specReplicas(rs);
  }
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

/** Scaling the Deployment: the single active ReplicaSet follows; mid-rollout, all scale by share. */
export async function scale(ctx: SyncContext, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]) {
  const d = ctx.d;
  const activeOrLatest = findActiveOrLatest(newRS, oldRSs);
  if (activeOrLatest) {
    if (specReplicas(activeOrLatest) !== desiredReplicas(d)) await scaleReplicaSet(ctx, activeOrLatest, desiredReplicas(d));
    return;
  }
  if (isSaturated(d, newRS)) {
    for (const old of filterActive(oldRSs)) await scaleReplicaSet(ctx, old, 0);
    return;
  }
  if (!isRollingUpdate(d)) return;
  const all = filterActive([...oldRSs, newRS]);
  const allowed = desiredReplicas(d) > 0 ? desiredReplicas(d) + maxSurge(d) : 0;
  const toAdd = allowed - replicaCount(all);
  let operation: "up" | "down" | undefined;
  if (toAdd > 0) {
    all.sort(bySizeNewer);
    operation = "up";
  } else if (toAdd < 0) {
    all.sort(bySizeOlder);
    operation = "down";
  }
  const sizes = new Map<ReplicaSet, number>();
  let added = 0;
  for (const rs of all) {
    const p = toAdd !== 0 ? proportion(ctx, rs, toAdd, added) : 0;
    sizes.set(rs, specReplicas(rs) + p);
    added += p;
  }
  for (const [i, rs] of all.entries()) {
    let size = sizes.get(rs)!;
    // Rounding leftovers go to (or come from) the largest ReplicaSet.
    if (i === 0 && toAdd !== 0) size = Math.max(0, size + toAdd - added);
    await scaleReplicaSet(ctx, rs, size, operation);
  }
}

/** A scaling event: some active ReplicaSet was sized for a different Deployment replica count. */
export async function isScalingEvent(ctx: SyncContext): Promise<boolean> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(ctx, false);
  return filterActive([...oldRSs, newRS]).some((rs) => {
    const desired = desiredReplicasAnnotation(rs);
    return desired !== undefined && desired !== desiredReplicas(ctx.d);
  });
}

/** Scale only, no rollout step (used for scaling events and paused Deployments). */
export async function syncScaleOnly(ctx: SyncContext) {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(ctx, false);
  await scale(ctx, newRS, oldRSs);
  if (ctx.d.spec?.paused) await cleanupDeployment(ctx, oldRSs);
  await syncDeploymentStatus(ctx, [...oldRSs, newRS], newRS);
}
