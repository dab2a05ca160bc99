// Upstream's VolumeBinding filter: the node must suit the pod's volumes (volume-binding.ts
// resolves them once per decision into PodInfo.volumeFilter).
import type { Filter } from "../types";

export const volumeBinding: Filter = {
  name: "VolumeBinding",
  applies: (pod) => !!pod.volumeFilter,
  filter: (pod, node) => pod.volumeFilter?.(node),
};
