// The Deployment controller, as `startControllers` runs it.
import type { KubeClient } from "../../../client/client";
import type { SharedInformers } from "../informers";
import { DeploymentController } from "./controller";

export { DeploymentController } from "./controller";

/** Starts the controller once its caches are filled; `stop` ends the watches and the workers. */
export async function startDeploymentController(client: KubeClient, opts: { informers?: SharedInformers } = {}): Promise<{ stop(): Promise<void> }> {
  const controller = new DeploymentController(client, { informers: opts.informers });
  await controller.start();
  return { stop: () => controller.stop() };
}
