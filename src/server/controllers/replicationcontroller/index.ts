// The ReplicationController controller: the ReplicaSet controller serving core/v1
// ReplicationControllers, whose selector is a plain label map (upstream runs one controller for
// both the same way). Pods are shared with the ReplicaSet controller's caches and index.
import type { ReplicaSet } from "../../../api/resources/apps/replicaset";
import { replicationControllers, type ReplicationController } from "../../../api/resources/core/replicationcontroller";
import type { KubeClient } from "../../../client/client";
import type { SharedInformers } from "../informers";
import { ReplicaSetController, type ReplicatedKind } from "../replicaset/controller";

export const REPLICATION_CONTROLLERS: ReplicatedKind = {
  def: replicationControllers,
  apiVersion: "v1",
  kind: "ReplicationController",
  component: "replication-controller",
  selector: (obj: ReplicaSet) => ({ matchLabels: { ...(obj as unknown as ReplicationController).spec?.selector } }),
};

/** Starts the controller once its caches are filled; `stop` ends the watches and the workers. */
export async function startReplicationControllerController(client: KubeClient, opts: { informers?: SharedInformers } = {}): Promise<{ stop(): Promise<void> }> {
  const controller = new ReplicaSetController(client, { informers: opts.informers, kind: REPLICATION_CONTROLLERS });
  await controller.start();
  return { stop: () => controller.stop() };
}
