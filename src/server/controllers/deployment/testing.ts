// Shared fixtures for the Deployment controller tests: a cluster with the ReplicaSet and
// Deployment controllers and the fake kubelet, and readers for what a test asserts on.
import { deployments as deploymentsDef, type Deployment } from "../../../api/resources/apps/deployment";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import { replicaSets as rsDef, type ReplicaSet } from "../../../api/resources/apps/replicaset";
import type { ResourceClient } from "../../../client/client";
import { controllerRefOf } from "../podutil";
import { ReplicaSetController } from "../replicaset/controller";
import { FakeKubelet, startTestEnv, type TestEnv } from "../replicaset/testing";
import { DeploymentController } from "./controller";
import { byRevision } from "./rsutil";

export interface Cluster {
  env: TestEnv;
  kubelet: FakeKubelet;
  rsController: ReplicaSetController;
  deployController: DeploymentController;
  deployments: ResourceClient<Deployment>;
  replicaSets: ResourceClient<ReplicaSet>;
  pods: ResourceClient<Pod>;
  stop(): Promise<void>;
}

export async function startCluster(): Promise<Cluster> {
  const env = await startTestEnv();
  const kubelet = await new FakeKubelet(env.client).start();
  const rsController = new ReplicaSetController(env.client);
  await rsController.start();
  const cluster: Cluster = {
    env,
    kubelet,
    rsController,
    deployController: new DeploymentController(env.client),
    deployments: env.client.resource<Deployment>(deploymentsDef),
    replicaSets: env.client.resource<ReplicaSet>(rsDef),
    pods: env.client.resource<Pod>(podsDef),
    async stop() {
      await cluster.deployController.stop();
      await rsController.stop();
      await kubelet.stop();
      await env.stop();
    },
  };
  await cluster.deployController.start();
  return cluster;
}

export function deployment(name: string, replicas: number, image: string, spec: Partial<NonNullable<Deployment["spec"]>> = {}): Deployment {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image }] } },
      ...spec,
    },
  };
}

export const imageOf = (o: { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } }) => o.spec?.template?.spec?.containers?.[0]?.image;

/** The ReplicaSets a Deployment controls, oldest revision first. */
export async function replicaSetsOf(c: Cluster, ns: string, name: string): Promise<ReplicaSet[]> {
  const d = await c.deployments.get(ns, name);
  return (await c.replicaSets.list(ns)).items
    .filter((rs) => controllerRefOf(rs)?.uid === d.metadata.uid)
    .sort(byRevision);
}

/** The rollout is over: status describes the current spec and every replica is updated and available. */
export async function rolledOut(c: Cluster, ns: string, name: string): Promise<boolean> {
  const d = await c.deployments.get(ns, name);
  const s = d.status ?? {};
  const n = d.spec?.replicas ?? 1;
  const progressing = s.conditions?.find((x) => x.type === "Progressing");
  return (
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
    s.updatedReplicas === n &&
    s.replicas === n &&
    s.availableReplicas === n &&
    progressing?.reason === "NewReplicaSetAvailable"
  );
}
