// Which Secrets a node may read for its ingress controller: a TLS Secret (type
// kubernetes.io/tls, stored now) named in spec.tls[].secretName of an Ingress in the same
// namespace whose class is served by bramble's controller. Nothing else: not an Opaque Secret an
// Ingress names (a service account token, a password), not a Secret that does not exist yet (a
// watch pinned to its name would see whatever is created there later), not a Secret named by an
// Ingress of another controller. A Secret's type is immutable, so the check holds for a watch.
import type { KubeObject } from "../../api/meta";
import { servedByBramble, TLS_SECRET_TYPE } from "../../api/resources/networking/names";

export interface IngressSecretView {
  getSecret(namespace: string, name: string): KubeObject | undefined;
  ingressesIn(namespace: string): KubeObject[];
  getIngressClass(name: string): KubeObject | undefined;
}

type Loose = Record<string, any>;

export function ingressMayReadSecret(view: IngressSecretView, namespace: string, name: string): boolean {
  const secret = view.getSecret(namespace, name) as Loose | undefined;
  if (!secret || secret.type !== TLS_SECRET_TYPE) return false;
  return view.ingressesIn(namespace).some((ing) => {
    const spec = ((ing as Loose).spec ?? {}) as Loose;
    const className = typeof spec.ingressClassName === "string" ? spec.ingressClassName : undefined;
    if (!servedByBramble(className, (n) => view.getIngressClass(n) as Loose | undefined)) return false;
    return ((spec.tls ?? []) as Loose[]).some((t) => t?.secretName === name);
  });
}
