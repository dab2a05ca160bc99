// The well-known labels that tie EndpointSlices to their Service and say who writes them. No
// schema code here: agents (the proxy, the DNS) import these, and TypeBox would cost them RSS.

/** The Service a slice belongs to; consumers merge every slice carrying the same value. */
export const LABEL_SERVICE_NAME = "kubernetes.io/service-name";
/** The controller (or other program) that writes the slice. */
export const LABEL_MANAGED_BY = "endpointslice.kubernetes.io/managed-by";
/** On an Endpoints object: do not mirror it into slices (its writer writes slices itself). */
export const LABEL_SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror";
/** On slices and Endpoints of a Service without a cluster IP. */
export const LABEL_HEADLESS = "service.kubernetes.io/headless";

/** managed-by of the slices made from a Service's selected pods. */
export const ENDPOINTSLICE_CONTROLLER = "endpointslice-controller.k8s.io";
/** managed-by of the slices copied from user-managed Endpoints (Services without a selector). */
export const ENDPOINTSLICE_MIRRORING_CONTROLLER = "endpointslicemirroring-controller.k8s.io";

/** "namespace/service" of a slice, or undefined when it names no Service. */
export function serviceKeyOfSlice(slice: { metadata: { namespace?: string; labels?: Record<string, string> } }): string | undefined {
  const name = slice.metadata.labels?.[LABEL_SERVICE_NAME];
  return name ? `${slice.metadata.namespace ?? "default"}/${name}` : undefined;
}
