// The CronJob controller, as `startControllers` runs it.
import type { KubeClient } from "../../../client/client";
import type { SharedInformers } from "../informers";
import { CronJobController } from "./controller";

export { CronJobController } from "./controller";

/** Starts the controller once its caches are filled; `stop` ends the timers, the watches and the workers. */
export async function startCronJobController(client: KubeClient, opts: { informers?: SharedInformers } = {}): Promise<{ stop(): Promise<void> }> {
  const controller = new CronJobController(client, { informers: opts.informers });
  await controller.start();
  return { stop: () => controller.stop() };
}
