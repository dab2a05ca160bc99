// What the in-process controllers and the scheduler keep of each Pod in their shared cache. They
// read identity, labels, owners, scheduling inputs, container ports and resources, the claims a
// pod's volumes use, and status; never images, commands, environment, probes, mounts or other
// volumes, which are most of a real pod.
// Every pod is held here once more, decoded, next to the API server's JSON of it, so what no
// control loop reads is dropped (client-go's informer SetTransform, as the upstream scheduler does
// for managedFields). These objects are read and patched, never written back whole.
import type { Pod } from "../../api/resources/core/pod";

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

type Container = NonNullable<NonNullable<Pod["spec"]>["containers"]>[number];

/** The parts of a container that scheduling (requests, host ports, sidecars) and Endpoints (named ports) use. */
function containerView(c: Container): Container {
  const { name, resources, ports } = c;
  const restartPolicy = (c as { restartPolicy?: string }).restartPolicy;
  return { name, ...(resources && { resources }), ...(ports && { ports }), ...(restartPolicy && { restartPolicy }) } as Container;
}

export function controllerPodView(pod: Pod): Pod {
  const { managedFields: _managedFields, annotations, ...metadata } = pod.metadata as Pod["metadata"] & { managedFields?: unknown };
  if (annotations) {
    const { [LAST_APPLIED]: _lastApplied, ...rest } = annotations;
    if (Object.keys(rest).length) (metadata as Pod["metadata"]).annotations = rest;
  }
  const out: Pod = { ...pod, metadata };
  if (pod.spec) {
    const { containers, initContainers, ephemeralContainers: _ephemeral, volumes, ...spec } = pod.spec as NonNullable<Pod["spec"]> & { ephemeralContainers?: unknown };
    // The scheduler holds a pod whose claims are not bound; nothing else about volumes is read.
    const claims = (volumes ?? []).flatMap((v) => (v.persistentVolumeClaim ? [{ name: v.name, persistentVolumeClaim: { claimName: v.persistentVolumeClaim.claimName } }] : []));
    out.spec = {
      ...spec,
      containers: (containers ?? []).map(containerView),
      ...(initContainers && { initContainers: initContainers.map(containerView) }),
      ...(claims.length && { volumes: claims }),
    } as NonNullable<Pod["spec"]>;
  }
  return out;
}
