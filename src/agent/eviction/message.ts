// The message an evicted pod carries, in upstream's words (pkg/kubelet/eviction/helpers.go
// evictionMessage): the starved resource, the threshold and what was available, and each
// container using more than it requested.
import { formatQuantity } from "../../api/quantity";
import type { PodUsage } from "./rank";
import type { Observation } from "./signals";
import { amountOf, type Threshold } from "./thresholds";
import { parseQuantity, quantityValue } from "../../api/quantity";

/** Upstream's eviction reason (status.reason and the event's). */
export const EVICTED_REASON = "Evicted";

/** Bytes as resource.Quantity prints a BinarySI quantity ("100Mi", "12345Ki", "1000"). */
export const bytesText = (n: number) => formatQuantity({ nano: BigInt(Math.max(0, Math.floor(n))) * 1_000_000_000n, format: "BinarySI" });
const countText = (n: number) => formatQuantity({ nano: BigInt(Math.max(0, Math.floor(n))) * 1_000_000_000n, format: "DecimalSI" });

/** Upstream's annotations on the Evicted event: which containers used more than they requested, and how much. */
export interface EvictionNotice {
  message: string;
  annotations: Record<string, string>;
}

export function evictionMessage(resource: string, threshold: Threshold, o: Observation, usage: PodUsage): EvictionNotice {
  const offending: string[] = [];
  const offendingUsage: string[] = [];
  const fmt = resource === "memory" || resource === "ephemeral-storage" ? bytesText : countText;
  let message = `The node was low on resource: ${resource}. `;
  message += `Threshold quantity: ${fmt(amountOf(threshold.value, o.capacity))}, available: ${fmt(o.available)}. `;
  if (resource === "memory") {
    for (const c of usage.containers ?? []) {
      const spec = usage.pod.spec?.containers?.find((s) => s.name === c.name);
      if (!spec || c.memory === undefined) continue;
      const reqText = spec.resources?.requests?.memory;
      const request = reqText === undefined ? 0 : quantityValue(parseQuantity(String(reqText)));
      if (c.memory <= request) continue;
      message += `Container ${c.name} was using ${bytesText(c.memory)}, request is ${reqText === undefined ? "0" : String(reqText)}, has larger consumption of ${resource}. `;
      offending.push(c.name);
      offendingUsage.push(bytesText(c.memory));
    }
  }
  return { message, annotations: { offending_containers: offending.join(","), offending_containers_usage: offendingUsage.join(","), starved_resource: resource } };
}
