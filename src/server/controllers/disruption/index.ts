// The disruption controller, as `startControllers` runs it.
import type { KubeClient } from "../../../client/client";
import type { SharedInformers } from "../informers";
import { DisruptionController } from "./controller";

export { DisruptionController } from "./controller";

/** Starts the controller once its caches are filled; `stop` ends its workers (and its own watches, unshared). */
export async function startDisruptionController(client: KubeClient, opts: { informers?: SharedInformers } = {}): Promise<{ stop(): Promise<void> }> {
  const controller = new DisruptionController(client, { informers: opts.informers });
  await controller.start();
  return { stop: () => controller.stop() };
}
