// The simulated kubelet: ONE pod informer for every sim node (pods with a nodeName; those on
// other nodes are dropped locally), a keyed work queue, and a fixed number of workers writing
// status. Each pod costs one PATCH to go Running (the informer's cache replaces a GET), and a
// status PATCH plus a DELETE to go away.
import { ApiError } from "../../api/errors";
import { pods, type Pod } from "../../api/resources/core/pod";
import type { KubeClient, ResourceClient } from "../../client/client";
import { Informer, objectKeyOf } from "../../client/informer";
import type { Logger } from "../../machinery/log";
import { WorkQueue } from "../../machinery/workqueue";
import { throttledWarn } from "../node/warn";
import type { PodIpam } from "./addresses";
import { hasRunningContainers, needsWork, runningStatusPatch, stoppedStatus } from "./podstatus";

export interface SimNodeState {
  name: string;
  hostIP: string;
  podCidr: string;
  ipam: PodIpam;
}

export interface PodRunnerOptions {
  /** Status writes in flight at once. */
  workers: number;
  log: Logger;
  now?: () => Date;
}

const rv = (pod: Pod) => Number(pod.metadata.resourceVersion ?? 0);
const isGone = (e: unknown) => e instanceof ApiError && (e.code === 404 || e.code === 409);

export class PodRunner {
  private readonly api: ResourceClient<Pod>;
  private readonly informer: Informer<Pod>;
  private readonly queue = new WorkQueue(200, 30_000);
  /**
   * Our last write per pod uid, until the informer shows it: the resourceVersion the write
   * produced, or "deleted". A pod re-queued by an older event meanwhile is not written twice.
   * (bramble's resourceVersions are its store's revision, so they compare as numbers.)
   */
  private readonly expected = new Map<string, number | "deleted">();
  private workers: Promise<void>[] = [];
  private readonly warn: ReturnType<typeof throttledWarn>;
  private readonly now: () => Date;
  /** Pods that went Running, for throughput reports. */
  started = 0;

  constructor(
    client: KubeClient,
    private readonly nodes: Map<string, SimNodeState>,
    private readonly opts: PodRunnerOptions,
  ) {
    this.api = client.resource<Pod>(pods);
    this.now = opts.now ?? (() => new Date());
    this.warn = throttledWarn(opts.log);
    // Unscheduled pods are filtered by the server; the rest by node name, here.
    this.informer = new Informer(this.api, { fieldSelector: "spec.nodeName!=" }).on({
      add: (pod) => this.observe(pod),
      update: (_, pod) => this.observe(pod),
      delete: (pod) => this.forget(pod),
    });
  }

  async start(): Promise<void> {
    await this.informer.start();
    this.workers = Array.from({ length: this.opts.workers }, () => this.work());
  }

  async stop(): Promise<void> {
    this.informer.stop();
    this.queue.shutdown();
    await Promise.allSettled(this.workers);
  }

  private nodeOf(pod: Pod) {
    return this.nodes.get(pod.spec?.nodeName ?? "");
  }

  private observe(pod: Pod) {
    const node = this.nodeOf(pod);
    if (!node) return;
    const uid = pod.metadata.uid!;
    const exp = this.expected.get(uid);
    if (typeof exp === "number" && rv(pod) >= exp) this.expected.delete(uid);
    // A finished pod's sandbox is gone, as on a real node: its address goes back to the pool
    // (the pod keeps status.podIP, as upstream's do). After a sim restart, the other pods keep
    // the addresses they report.
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") node.ipam.release(uid);
    else if (pod.status?.podIP) node.ipam.reserve(uid, pod.status.podIP);
    if (needsWork(pod)) this.queue.add(objectKeyOf(pod));
  }

  private forget(pod: Pod) {
    this.expected.delete(pod.metadata.uid!);
    this.nodeOf(pod)?.ipam.release(pod.metadata.uid!);
  }

  private async work() {
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      try {
        await this.reconcile(key);
        this.queue.forget(key);
      } catch (e) {
        this.warn("pod sync failed; retrying", { pod: key }, e);
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async reconcile(key: string) {
    const pod = this.informer.get(key);
    const node = pod && this.nodeOf(pod);
    if (!pod || !node) return;
    const uid = pod.metadata.uid!;
    if (this.expected.has(uid)) return; // our last write is on its way back through the watch
    if (pod.metadata.deletionTimestamp) return this.stopAndRemove(pod, node);
    if (!needsWork(pod)) return;
    const podIP = node.ipam.allocate(uid);
    if (!podIP) {
      // Like a CNI out of addresses: the pod waits; it is retried with backoff, not in a loop.
      throw new Error(`no pod IPs left in ${node.podCidr} on node ${node.name}`);
    }
    const status = runningStatusPatch(pod, { podIP, hostIP: node.hostIP }, this.now());
    // metadata.uid makes the write apply to this pod only, not a namesake created meanwhile.
    const written = await this.patchStatus(pod, status);
    if (!written) return;
    this.started++;
    if (rv(written) > rv(this.informer.get(key) ?? pod)) this.expected.set(uid, rv(written));
  }

  private async stopAndRemove(pod: Pod, node: SimNodeState) {
    const uid = pod.metadata.uid!;
    if (hasRunningContainers(pod) && !(await this.patchStatus(pod, stoppedStatus(pod, this.now())))) return;
    try {
      await this.api.delete(pod.metadata.namespace, pod.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid } });
    } catch (e) {
      if (!isGone(e)) throw e;
    }
    this.expected.set(uid, "deleted");
    node.ipam.release(uid);
  }

  /** The updated pod, or undefined when it no longer exists. */
  private async patchStatus(pod: Pod, status: unknown): Promise<Pod | undefined> {
    try {
      return await this.api.patch(pod.metadata.namespace, pod.metadata.name!, { metadata: { uid: pod.metadata.uid }, status }, "merge", "status");
    } catch (e) {
      if (isGone(e)) return undefined;
      throw e;
    }
  }
}
