// Test harness for the workload controllers: an in-process API server on the memory store over
// plain HTTP, a client, and a tiny fake kubelet that binds pods to a node, reports them Running
// and Ready, and finishes graceful deletions, so readiness and availability can be exercised.
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import { KubeClient } from "../../../client/client";
import { Informer, objectKeyOf } from "../../../client/informer";
import { startHttpTestApi, type HttpTestApi } from "../../apiserver/testing";
import { ControlLoop } from "../../../machinery/controlloop";

export type TestEnv = HttpTestApi;
export const startTestEnv = () => startHttpTestApi();

export async function createNamespace(client: KubeClient, name: string) {
  await client.resource({ group: "", version: "v1", plural: "namespaces", namespaced: false }).create(undefined, { metadata: { name } });
}

/** Polls until `check` returns true; fails with `what` after `tries` attempts. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, tries = 300, everyMs = 20) {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await Bun.sleep(everyMs);
  }
  throw new Error(`timed out waiting for: ${what}`);
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

export class FakeKubelet {
  readonly informer: Informer<Pod>;
  private readonly loop: ControlLoop;
  private readonly podClient;
  /** Pods whose name passes this stay Pending and unready (e.g. to hold a rollout mid-way). */
  holdBack: (pod: Pod) => boolean = () => false;
  /** When false, pods marked for deletion stay Terminating (as on a slow node). */
  finishDeletes = true;

  constructor(client: KubeClient, readonly nodes = ["node-a", "node-b"]) {
    this.podClient = client.resource<Pod>(podsDef);
    this.informer = new Informer(this.podClient);
    this.loop = new ControlLoop({ name: "fake-kubelet", reconcile: (key) => this.sync(key) }, 4);
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

  /** Re-examines every pod (after changing `holdBack`). */
  resync() {
    for (const p of this.informer.list()) this.loop.enqueue(objectKeyOf(p));
  }

  private async sync(key: string) {
    const pod = this.informer.get(key);
    if (!pod) return;
    const { namespace, name } = pod.metadata;
    try {
      if (pod.metadata.deletionTimestamp) {
        if (!this.finishDeletes) return;
        await this.podClient.delete(namespace, name!, { gracePeriodSeconds: 0 });
        return;
      }
      if (this.holdBack(pod)) return;
      if (!pod.spec?.nodeName) {
        const node = this.nodes[Math.abs(hash(name!)) % this.nodes.length];
        await this.podClient.post(namespace, name!, "binding", { apiVersion: "v1", kind: "Binding", metadata: { name }, target: { kind: "Node", name: node } });
        return;
      }
      if (pod.status?.phase === "Running") return;
      const t = now();
      const containers = (pod.spec.containers ?? []).map((c) => ({ name: c.name, image: c.image, ready: true, restartCount: 0, started: true, state: { running: { startedAt: t } } }));
      await this.podClient.patch(
        namespace,
        name!,
        {
          status: {
            phase: "Running",
            podIP: "10.42.0.9",
            startTime: t,
            containerStatuses: containers,
            conditions: [
              { type: "PodScheduled", status: "True", lastTransitionTime: t },
              { type: "Initialized", status: "True", lastTransitionTime: t },
              { type: "ContainersReady", status: "True", lastTransitionTime: t },
              { type: "Ready", status: "True", lastTransitionTime: t },
            ],
          },
        },
        "merge",
        "status",
      );
    } catch (e) {
      if ((e as { code?: number }).code === 404) return;
      if ((e as { code?: number }).code === 409) return; // a newer version is on its way to us
      throw e;
    }
  }
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return h;
}
