// What the controller does with a replica count computed from metrics, as upstream's
// normalizeDesiredReplicasWithBehaviors: the stabilization windows (the lowest recommendation
// of the scale-up window, the highest of the scale-down window), then the scaling policies
// (how much the count may change within a period, given the changes already made in it) and
// minReplicas/maxReplicas. Pure: the recommendations and past scale events are the caller's.
import type { HPAScalingRules } from "../../../api/resources/autoscaling/horizontalpodautoscaler";

export interface Recommendation {
  atMs: number;
  replicas: number;
}

export interface ScaleEvent {
  atMs: number;
  /** How many replicas the change added (scale up) or removed (scale down), positive. */
  change: number;
}

export interface BehaviorInput {
  currentReplicas: number;
  desiredReplicas: number;
  minReplicas: number;
  maxReplicas: number;
  scaleUp: HPAScalingRules;
  scaleDown: HPAScalingRules;
  /** Earlier recommendations; the new one is appended by stabilize(). */
  recommendations: Recommendation[];
  scaleUpEvents: ScaleEvent[];
  scaleDownEvents: ScaleEvent[];
  now: number;
}

export interface Limited {
  replicas: number;
  reason: string;
  message: string;
}

/** stabilizeRecommendationWithBehaviors; records the new recommendation in `recommendations`. */
export function stabilize(a: BehaviorInput): Limited {
  let up = a.desiredReplicas;
  let down = a.desiredReplicas;
  const upCutoff = a.now - (a.scaleUp.stabilizationWindowSeconds ?? 0) * 1000;
  const downCutoff = a.now - (a.scaleDown.stabilizationWindowSeconds ?? 0) * 1000;
  for (const r of a.recommendations) {
    if (r.atMs > upCutoff) up = Math.min(r.replicas, up);
    if (r.atMs > downCutoff) down = Math.max(r.replicas, down);
  }
  let replicas = a.currentReplicas;
  if (replicas < up) replicas = up;
  if (replicas > down) replicas = down;
  // Keep only what a window can still need, then record this recommendation.
  const oldest = Math.min(upCutoff, downCutoff);
  const kept = a.recommendations.filter((r) => r.atMs > oldest);
  a.recommendations.length = 0;
  a.recommendations.push(...kept, { atMs: a.now, replicas: a.desiredReplicas });
  if (replicas === a.desiredReplicas) return { replicas, reason: "ReadyForNewScale", message: "recommended size matches current size" };
  return replicas > a.desiredReplicas
    ? { replicas, reason: "ScaleDownStabilized", message: "recent recommendations were higher than current one, applying the highest recent recommendation" }
    : { replicas, reason: "ScaleUpStabilized", message: "recent recommendations were lower than current one, applying the lowest recent recommendation" };
}

/** The replicas changed by the events within the last `periodSeconds`. */
const changedWithin = (events: ScaleEvent[], periodSeconds: number, now: number) =>
  events.reduce((sum, e) => (e.atMs > now - periodSeconds * 1000 ? sum + e.change : sum), 0);

/** calculateScaleUpLimitWithScalingRules. */
export function scaleUpLimit(current: number, up: ScaleEvent[], down: ScaleEvent[], rules: HPAScalingRules, now: number): number {
  if (rules.selectPolicy === "Disabled") return current;
  const pickMin = rules.selectPolicy === "Min";
  let result = pickMin ? Infinity : -Infinity;
  for (const p of rules.policies ?? []) {
    const periodStart = current - changedWithin(up, p.periodSeconds, now) + changedWithin(down, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? periodStart + p.value : Math.ceil(periodStart * (1 + p.value / 100));
    result = pickMin ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

/** calculateScaleDownLimitWithBehaviors. */
export function scaleDownLimit(current: number, up: ScaleEvent[], down: ScaleEvent[], rules: HPAScalingRules, now: number): number {
  if (rules.selectPolicy === "Disabled") return current;
  const pickMin = rules.selectPolicy === "Min";
  let result = pickMin ? -Infinity : Infinity;
  for (const p of rules.policies ?? []) {
    const periodStart = current - changedWithin(up, p.periodSeconds, now) + changedWithin(down, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? periodStart - p.value : Math.trunc(periodStart * (1 - p.value / 100));
    result = pickMin ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

/** convertDesiredReplicasWithBehaviorRate: the policies' limits and minReplicas/maxReplicas. */
export function limitRate(a: BehaviorInput, desired: number): Limited {
  if (desired > a.currentReplicas) {
    const limit = Math.max(scaleUpLimit(a.currentReplicas, a.scaleUpEvents, a.scaleDownEvents, a.scaleUp, a.now), a.currentReplicas);
    if (a.maxReplicas > limit)
      return { replicas: Math.min(limit, desired), reason: "ScaleUpLimit", message: "the desired replica count is increasing faster than the maximum scale rate" };
    return { replicas: Math.min(a.maxReplicas, desired), reason: "TooManyReplicas", message: "the desired replica count is more than the maximum replica count" };
  }
  if (desired < a.currentReplicas) {
    const limit = Math.min(scaleDownLimit(a.currentReplicas, a.scaleUpEvents, a.scaleDownEvents, a.scaleDown, a.now), a.currentReplicas);
    if (a.minReplicas < limit)
      return { replicas: Math.max(limit, desired), reason: "ScaleDownLimit", message: "the desired replica count is decreasing faster than the maximum scale rate" };
    return { replicas: Math.max(a.minReplicas, desired), reason: "TooFewReplicas", message: "the desired replica count is less than the minimum replica count" };
  }
  return { replicas: desired, reason: "DesiredWithinRange", message: "the desired count is within the acceptable range" };
}

/** normalizeDesiredReplicasWithBehaviors: the count to scale to, and why it is what it is. */
export function normalize(a: BehaviorInput): { replicas: number; stabilized: Limited; limited: Limited } {
  const stabilized = stabilize(a);
  const limited = limitRate(a, stabilized.replicas);
  return { replicas: limited.replicas, stabilized, limited };
}

/** Keeps the scale events any policy period can still count. */
export function pruneEvents(events: ScaleEvent[], rules: HPAScalingRules, now: number): ScaleEvent[] {
  const longest = Math.max(0, ...(rules.policies ?? []).map((p) => p.periodSeconds));
  return events.filter((e) => e.atMs > now - longest * 1000);
}
