// The Deployment controller, as `startControllers` runs it.
import type { KubeClient } from "../../../client/client";
import { DeploymentController } from "./controller";

export { DeploymentController } from "./controller";

/** Starts the controller once its caches are filled; `stop` ends the watches and the workers. */
export async function startDeploymentController(client: KubeClient): Promise<{ stop(): Promise<void> }> {
  const controller = new DeploymentController(client);
  await controller.start();
  return { stop: () => controller.stop() };
}
