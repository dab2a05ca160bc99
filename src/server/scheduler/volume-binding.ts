// The claims a pod's volumes name, checked before any node is (upstream's VolumeBinding
// PreFilter). bramble binds no volumes: a claim stays Pending until something binds it, so a pod
// using one stays Pending too, with upstream's reason, and is tried again when claims change.
import type { PersistentVolumeClaim } from "../../api/resources/core/persistentvolumeclaim";
import type { Pod } from "../../api/resources/core/pod";

/** The cached claim by namespace/name. */
export type ClaimLookup = (key: string) => PersistentVolumeClaim | undefined;

export const UNBOUND_IMMEDIATE_CLAIMS = "pod has unbound immediate PersistentVolumeClaims";

export const usesClaims = (pod: Pod) => !!pod.spec?.volumes?.some((v) => v.persistentVolumeClaim);

/** Why no node can take the pod because of its claims (missing, being deleted, unbound), or undefined. */
export function claimsProblem(pod: Pod, claims: ClaimLookup): string | undefined {
  let unbound = false;
  for (const v of pod.spec?.volumes ?? []) {
    const name = v.persistentVolumeClaim?.claimName;
    if (!name) continue;
    const claim = claims(`${pod.metadata.namespace ?? ""}/${name}`);
    if (!claim) return `persistentvolumeclaim "${name}" not found`;
    if (claim.metadata.deletionTimestamp) return `persistentvolumeclaim "${name}" is being deleted`;
    if (!claim.spec?.volumeName) unbound = true;
  }
  return unbound ? UNBOUND_IMMEDIATE_CLAIMS : undefined;
}
