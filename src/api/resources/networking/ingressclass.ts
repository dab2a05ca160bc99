// networking.k8s.io/v1 IngressClass: names the controller that serves an Ingress (cluster-scoped).
// One class may carry the is-default-class annotation; Ingresses created without a class get it
// (the DefaultIngressClass admission plugin). bramble makes its own class, `bramble`, at start.
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import { KINDS } from "../../kinds";
import type { KubeObject } from "../../meta";
import type { ResourceDef } from "../../resource";
import { Obj, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, fieldTooLong, isDns1123Subdomain } from "../../validation";

const Str = () => Type.String();
const Opt = Type.Optional;

import { DEFAULT_CLASS_ANNOTATION } from "./names";
export { BRAMBLE_INGRESS_CLASS, BRAMBLE_INGRESS_CONTROLLER, DEFAULT_CLASS_ANNOTATION } from "./names";

export const IngressClassSchema = TopLevel(
  {
    spec: Opt(
      Obj({
        controller: Opt(Str()),
        parameters: Opt(Obj({ apiGroup: Opt(Str()), kind: Str(), name: Str(), scope: Opt(Str()), namespace: Opt(Str()) })),
      }),
    ),
  },
  "IngressClass represents the class of the Ingress, referenced by the Ingress Spec. The `ingressclass.kubernetes.io/is-default-class` annotation can be used to indicate that an IngressClass should be considered default.",
);

export type IngressClass = Static<typeof IngressClassSchema> & KubeObject;

export const isDefaultIngressClass = (c: IngressClass) => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true";

const SCOPES = ["Cluster", "Namespace"];
const MAX_CONTROLLER_LEN = 250;

/** Upstream's IsDomainPrefixedPath: "<dns subdomain>/<path>". */
function domainPrefixedPathErrors(value: string, path: string): FieldError[] {
  const slash = value.indexOf("/");
  if (slash < 0) return [fieldInvalid(path, value, "must be a domain-prefixed path (such as \"acme.io/foo\")")];
  const host = value.slice(0, slash);
  const errs = isDns1123Subdomain(host).map((m) => fieldInvalid(path, host, m));
  if (!/^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/.test(value.slice(slash)))
    errs.push(fieldInvalid(path, value.slice(slash), "path must contain valid characters: a-z, A-Z, 0-9, '/', '-', '.', '_', '~', '%', '!', '$', '&', ''', '(', ')', '*', '+', ',', ';', '=', ':'"));
  return errs;
}

function validateIngressClass(c: IngressClass, old?: IngressClass): FieldError[] {
  const errs: FieldError[] = [];
  const controller = c.spec?.controller ?? "";
  if (!controller) errs.push(fieldRequired("spec.controller"));
  else if (controller.length > MAX_CONTROLLER_LEN) errs.push(fieldTooLong("spec.controller", MAX_CONTROLLER_LEN));
  else errs.push(...domainPrefixedPathErrors(controller, "spec.controller"));
  const p = c.spec?.parameters;
  if (p) {
    if (!p.kind) errs.push(fieldRequired("spec.parameters.kind"));
    if (!p.name) errs.push(fieldRequired("spec.parameters.name"));
    if (p.scope === undefined) errs.push(fieldRequired("spec.parameters.scope", ""));
    else if (!SCOPES.includes(p.scope)) errs.push(fieldNotSupported("spec.parameters.scope", p.scope, SCOPES));
    if (p.scope === "Namespace" && !p.namespace) errs.push(fieldRequired("spec.parameters.namespace", "`parameters.scope` is set to 'Namespace'"));
    if (p.scope === "Cluster" && p.namespace) errs.push(fieldForbidden("spec.parameters.namespace", "`parameters.scope` is set to 'Cluster'"));
  }
  if (old && (old.spec?.controller ?? "") !== controller) errs.push(fieldInvalid("spec.controller", controller, "field is immutable"));
  return errs;
}

function formatParameters(c: IngressClass): string {
  const p = c.spec?.parameters;
  if (!p) return "<none>";
  return p.apiGroup ? `${p.kind}.${p.apiGroup}/${p.name}` : `${p.kind}/${p.name}`;
}

export const ingressClasses: ResourceDef<IngressClass> = {
  ...KINDS.ingressClasses,
  schema: IngressClassSchema,
  subresources: [],
  hasStatus: false,
  defaults(c) {
    c.spec ??= {};
    // Upstream defaults the scope of parameters to Cluster.
    if (c.spec.parameters && c.spec.parameters.scope === undefined) c.spec.parameters.scope = "Cluster";
  },
  validate: validateIngressClass,
  table: {
    columns: [
      nameColumn,
      column("Controller", "Controller that is responsible for handling this class"),
      column("Parameters", "A reference to a resource with additional parameters"),
      ageColumn,
    ],
    row: (c, now) => [c.metadata.name, c.spec?.controller ?? "", formatParameters(c), age(c.metadata.creationTimestamp, now)],
  },
};
