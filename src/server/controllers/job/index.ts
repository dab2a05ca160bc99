// The Job controller, as `startControllers` runs it.
import type { KubeClient } from "../../../client/client";
import type { SharedInformers } from "../informers";
import { JobController } from "./controller";

export { JobController } from "./controller";

/** Starts the controller once its caches are filled; `stop` ends the workers. */
export async function startJobController(client: KubeClient, opts: { informers?: SharedInformers } = {}): Promise<{ stop(): Promise<void> }> {
  const controller = new JobController(client, { informers: opts.informers });
  await controller.start();
  return { stop: () => controller.stop() };
}
