// The horizontal pod autoscaler controller, as `startControllers` runs it.
import type { KubeClient } from "../../../client/client";
import { HorizontalPodAutoscalerController, type HpaControllerOptions } from "./controller";

export { HorizontalPodAutoscalerController } from "./controller";

export async function startHorizontalPodAutoscalerController(client: KubeClient, opts: HpaControllerOptions): Promise<{ stop(): Promise<void> }> {
  const controller = new HorizontalPodAutoscalerController(client, opts);
  await controller.start();
  return { stop: () => controller.stop() };
}
