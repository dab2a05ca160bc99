// Names the ingress parts share, without schema code (agents import this file; see kinds.ts).

/** The controller name bramble's built-in ingress controller answers to. */
export const BRAMBLE_INGRESS_CONTROLLER = "bramble.io/ingress";
/** The IngressClass the server makes at start (unless --disable ingress), marked default. */
export const BRAMBLE_INGRESS_CLASS = "bramble";
export const DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";
/** The Secret type that holds a certificate and its key (tls.crt, tls.key). */
export const TLS_SECRET_TYPE = "kubernetes.io/tls";

interface ClassLike {
  spec?: { controller?: string };
}

/** Whether bramble's controller serves an Ingress of this class name. */
export function servedByBramble(className: string | undefined, classOf: (name: string) => ClassLike | undefined): boolean {
  return !!className && classOf(className)?.spec?.controller === BRAMBLE_INGRESS_CONTROLLER;
}
