// Upstream's DefaultIngressClass admission plugin: an Ingress created without a class (neither
// spec.ingressClassName nor the old kubernetes.io/ingress.class annotation) gets the cluster's
// default IngressClass, the one annotated ingressclass.kubernetes.io/is-default-class=true. With
// several defaults the newest wins, as upstream's plugin chooses since 1.28.
import { sameResource, KINDS } from "../../../api/kinds";
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import { INGRESS_CLASS_ANNOTATION, type Ingress } from "../../../api/resources/networking/ingress";
import { isDefaultIngressClass, type IngressClass } from "../../../api/resources/networking/ingressclass";
import type { AdmissionPlugin } from "./admission";

export function defaultIngressClass(classes: readonly IngressClass[]): IngressClass | undefined {
  let best: IngressClass | undefined;
  for (const c of classes) {
    if (!isDefaultIngressClass(c)) continue;
    const newer = !best || (c.metadata.creationTimestamp ?? "") > (best.metadata.creationTimestamp ?? "") || ((c.metadata.creationTimestamp ?? "") === (best.metadata.creationTimestamp ?? "") && c.metadata.name! < best.metadata.name!);
    if (newer) best = c;
  }
  return best;
}

export class DefaultIngressClassAdmission implements AdmissionPlugin {
  constructor(private readonly classes: () => IngressClass[]) {}

  admit(op: "create" | "update", def: ResourceDef, obj: KubeObject): void {
    if (op !== "create" || !sameResource(def, KINDS.ingresses)) return;
    const ing = obj as Ingress;
    if (ing.spec?.ingressClassName || ing.metadata.annotations?.[INGRESS_CLASS_ANNOTATION] !== undefined) return;
    const dflt = defaultIngressClass(this.classes());
    if (dflt) (ing.spec ??= {}).ingressClassName = dflt.metadata.name;
  }
}
