// The kubelet's Prometheus metrics, with upstream's names where they exist: pod start duration,
// running pods and containers, and image pulls (bramble_image_pulls_total and
// bramble_image_pull_duration_seconds: upstream's kubelet has no pull counter of its own).
import { metrics } from "../../machinery/prometheus";

const podStart = metrics.histogram(
  "kubelet_pod_start_duration_seconds",
  "Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run",
  [],
  [0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600],
);
const runningPods = metrics.gauge("kubelet_running_pods", "Number of pods that have a running pod sandbox");
const runningContainers = metrics.gauge("kubelet_running_containers", "Number of containers currently running", ["container_state"]);
const pulls = metrics.counter("bramble_image_pulls_total", "Image pulls the kubelet asked the container runtime for, by result (success or failure).", ["result"]);
const pullDuration = metrics.histogram("bramble_image_pull_duration_seconds", "Duration in seconds of image pulls, by result.", ["result"], [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]);

const NO_LABELS: string[] = [];
runningPods.set(NO_LABELS, 0);

/** Pods seen for the first time (performance.now()), until they run or go. */
const firstSeen = new Map<string, number>();

export function podSeen(uid: string) {
  if (!firstSeen.has(uid)) firstSeen.set(uid, performance.now());
}

/** The pod's phase was written as Running for the first time. */
export function podRunning(uid: string) {
  const at = firstSeen.get(uid);
  if (at === undefined) return;
  firstSeen.delete(uid);
  podStart.observeSince(NO_LABELS, at);
}

export function podGone(uid: string) {
  firstSeen.delete(uid);
}

/** From a relist: how many of this node's containers are in each state, and pods with a running sandbox. */
export function runtimeCounts(states: Map<string, number>, podsRunning: number) {
  runningContainers.reset();
  for (const [state, n] of states) runningContainers.set([state], n);
  runningPods.set(NO_LABELS, podsRunning);
}

export function imagePulled(ok: boolean, startMs: number) {
  const labels = [ok ? "success" : "failure"];
  pulls.inc(labels);
  pullDuration.observeSince(labels, startMs);
}
