// A fake kubelet for Job controller tests: binds pods to a node, runs them, and finishes them
// the way `outcome` says (an exit code, or run until deleted). A deleted pod is stopped as a
// real kubelet stops it: its final status (Failed, exit code 143) is written, then it is
// deleted with grace 0, which leaves it in place while the tracking finalizer holds it.
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import type { KubeClient, ResourceClient } from "../../../client/client";
import { Informer, objectKeyOf } from "../../../client/informer";
import { ControlLoop } from "../../../machinery/controlloop";

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

/** What a pod does: exit with a code, or keep running ("run"); per container, the first decides. */
export type Outcome = { exitCode: number; conditions?: { type: string; status: string }[] } | "run";

export class JobKubelet {
  readonly informer: Informer<Pod>;
  private readonly loop: ControlLoop;
  private readonly podClient: ResourceClient<Pod>;
  outcome: (pod: Pod) => Outcome = () => ({ exitCode: 0 });
  /** Pods started, by name, in order. */
  readonly started: Pod[] = [];

  constructor(client: KubeClient) {
    this.podClient = client.resource<Pod>(podsDef);
    this.informer = new Informer(this.podClient);
    this.loop = new ControlLoop({ name: "job-test-kubelet", reconcile: (key) => this.sync(key) }, 4);
    const enqueue = (p: Pod) => this.loop.enqueue(objectKeyOf(p));
    this.informer.on({ add: enqueue, update: (_, p) => enqueue(p) });
  }

  async start() {
    await this.informer.start();
    this.loop.start();
    return this;
  }

  async stop() {
    this.informer.stop();
    await this.loop.stop();
  }

  private async sync(key: string) {
    const pod = this.informer.get(key);
    if (!pod) return;
    const { namespace, name } = pod.metadata;
    const terminal = pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
    try {
      if (pod.metadata.deletionTimestamp) {
        if ((pod.metadata.deletionGracePeriodSeconds ?? 0) === 0) return;
        if (!terminal) await this.finish(pod, { exitCode: 143 });
        await this.podClient.delete(namespace, name!, { gracePeriodSeconds: 0 });
        return;
      }
      if (terminal) return;
      if (!pod.spec?.nodeName) {
        await this.podClient.post(namespace, name!, "binding", { apiVersion: "v1", kind: "Binding", metadata: { name }, target: { kind: "Node", name: "node-a" } });
        return;
      }
      if (pod.status?.phase !== "Running") {
        this.started.push(pod);
        const t = now();
        await this.writeStatus(pod, {
          phase: "Running",
          startTime: t,
          containerStatuses: pod.spec.containers.map((c) => ({ name: c.name, image: c.image ?? "", imageID: "", ready: true, restartCount: 0, started: true, state: { running: { startedAt: t } } })),
          conditions: [{ type: "Ready", status: "True", lastTransitionTime: t }],
        });
        return;
      }
      const outcome = this.outcome(pod);
      if (outcome !== "run") await this.finish(pod, outcome);
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code === 404 || code === 409) return;
      throw e;
    }
  }

  private async finish(pod: Pod, outcome: { exitCode: number; conditions?: { type: string; status: string }[] }) {
    const t = now();
    await this.writeStatus(pod, {
      phase: outcome.exitCode === 0 ? "Succeeded" : "Failed",
      startTime: pod.status?.startTime ?? t,
      containerStatuses: pod.spec!.containers.map((c) => ({
        name: c.name,
        image: c.image ?? "",
        imageID: "",
        ready: false,
        restartCount: 0,
        started: false,
        state: { terminated: { exitCode: outcome.exitCode, reason: outcome.exitCode === 0 ? "Completed" : "Error", startedAt: t, finishedAt: t } },
      })),
      conditions: [{ type: "Ready", status: "False", lastTransitionTime: t }, ...(outcome.conditions ?? []).map((c) => ({ ...c, lastTransitionTime: t }))],
    });
  }

  private async writeStatus(pod: Pod, status: NonNullable<Pod["status"]>) {
    await this.podClient.patch(pod.metadata.namespace, pod.metadata.name!, { metadata: { resourceVersion: pod.metadata.resourceVersion }, status }, "merge", "status");
  }
}
