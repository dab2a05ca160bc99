// pods/eviction: a delete that respects PodDisruptionBudgets, as upstream's EvictionREST. The
// budget's disruption is taken first, by a resourceVersion-checked write of its status (a lost
// race is redone on the fresh budget), and only then is the pod marked DisruptionTarget and
// deleted. kubectl drain retries the 429 until the budget allows the eviction.
import { ApiError, badRequest } from "../../../api/errors";
import type { Pod } from "../../../api/resources/core/pod";
import { podDisruptionBudgets, type PodDisruptionBudget } from "../../../api/resources/policy/poddisruptionbudget";
import type { ResourceDef } from "../../../api/resource";
import { parseBody } from "../body";
import { timestamp } from "../objects/codec";
import type { DeleteOptions } from "../objects/delete";
import { isDryRun } from "../query";
import type { ApiContext } from "./context";
import { evictionVerdict, takeDisruption } from "./eviction-policy";
import { json, success } from "./respond";

/** How long an eviction keeps retrying lost races (upstream: 20 tries, 500 ms apart). */
const EVICTION_RETRY_MS = 10_000;
const RETRY_PAUSE_MS = 50;

interface EvictionBody {
  metadata?: { name?: string };
  deleteOptions?: { gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string }; dryRun?: string[] };
}

const isConflict = (e: unknown) => e instanceof ApiError && e.reason === "Conflict";

export async function evict(ctx: ApiContext, req: Request, url: URL, pods: ResourceDef, namespace: string, name: string) {
  const body = ((await parseBody(req)) ?? {}) as EvictionBody;
  if (typeof body !== "object" || Array.isArray(body)) throw badRequest("the request body must be a JSON object");
  if (body.metadata?.name && body.metadata.name !== name) throw badRequest("name in URL does not match name in Eviction object");
  const requested = body.deleteOptions ?? {};
  const dryRun = isDryRun(url) || !!requested.dryRun?.includes("All");
  const options: DeleteOptions = { gracePeriodSeconds: requested.gracePeriodSeconds, preconditions: requested.preconditions, dryRun };

  const deadline = Date.now() + EVICTION_RETRY_MS;
  for (;;) {
    const pod = ctx.objects.get(pods, namespace, name) as Pod;
    const { items } = ctx.objects.list(podDisruptionBudgets, namespace);
    const verdict = evictionVerdict(pod, items as PodDisruptionBudget[]);
    let pinned = false;
    if (verdict.action === "decrement") await takeFromBudget(ctx, verdict.pdb, name, dryRun, deadline);
    else if (verdict.pinVersion && !options.preconditions?.resourceVersion) pinned = true;
    // A pod judged unready (or unguarded) is deleted only as that version: if it became ready
    // meanwhile, the eviction is judged again.
    const opts = pinned ? { ...options, preconditions: { ...options.preconditions, resourceVersion: pod.metadata.resourceVersion } } : options;
    try {
      await markAndDelete(ctx, pods, pod, opts, deadline);
      return json(success(), 201);
    } catch (e) {
      if (!pinned || !isConflict(e) || Date.now() > deadline) throw e;
    }
  }
}

/** checkAndDecrement, redone on the fresh budget while another write wins the race. */
async function takeFromBudget(ctx: ApiContext, pdb: PodDisruptionBudget, podName: string, dryRun: boolean, deadline: number) {
  let current = pdb;
  for (;;) {
    const next = takeDisruption(current, podName, timestamp(), dryRun);
    if (dryRun) return;
    try {
      await ctx.objects.update(podDisruptionBudgets, current.metadata.namespace, current.metadata.name!, next, { subresource: "status" });
      return;
    } catch (e) {
      if (!isConflict(e) || Date.now() > deadline) throw e;
      await Bun.sleep(RETRY_PAUSE_MS);
      current = ctx.objects.get(podDisruptionBudgets, current.metadata.namespace, current.metadata.name!) as PodDisruptionBudget;
    }
  }
}

/**
 * Marks the pod DisruptionTarget (reason EvictionByEvictionAPI) on its latest version, honouring
 * the caller's preconditions, then deletes it; a resourceVersion precondition follows the mark's
 * own write.
 */
async function markAndDelete(ctx: ApiContext, pods: ResourceDef, judged: Pod, options: DeleteOptions, deadline: number) {
  const { uid, resourceVersion } = options.preconditions ?? {};
  let opts = options;
  for (let pod = judged; !options.dryRun; pod = ctx.objects.get(pods, judged.metadata.namespace, judged.metadata.name!) as Pod) {
    const done = pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
    const marked = pod.status?.conditions?.some((c) => c.type === "DisruptionTarget" && c.status === "True");
    // A failed precondition is the delete's to report, with upstream's wording.
    if (done || marked || (uid && uid !== pod.metadata.uid) || (resourceVersion && resourceVersion !== pod.metadata.resourceVersion)) break;
    const next = structuredClone(pod);
    const status = (next.status ??= {});
    status.conditions = [
      ...(status.conditions ?? []).filter((c) => c.type !== "DisruptionTarget"),
      { type: "DisruptionTarget", status: "True", reason: "EvictionByEvictionAPI", message: "Eviction API: evicting", lastTransitionTime: timestamp() },
    ];
    try {
      const updated = await ctx.objects.update(pods, pod.metadata.namespace, pod.metadata.name!, next, { subresource: "status" });
      if (resourceVersion) opts = { ...options, preconditions: { ...options.preconditions, resourceVersion: updated.metadata.resourceVersion } };
      break;
    } catch (e) {
      if (!isConflict(e) || resourceVersion || Date.now() > deadline) throw e;
    }
  }
  await ctx.deleter.delete(pods, judged.metadata.namespace, judged.metadata.name!, opts);
}
