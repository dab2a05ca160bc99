// serviceaccounts/token: the TokenRequest API (authentication.k8s.io/v1), as `kubectl create
// token` and kubelets use it. Validates the spec, resolves the account and the object the token
// is bound to (a Pod, with the Node it runs on, or a Secret), and answers the request with
// status.token and status.expirationTimestamp filled in. Nothing is stored.
import { SUBRESOURCE_KINDS } from "../../../api/kinds";
import { badRequest, conflict, invalid, fieldCauses, type FieldError } from "../../../api/errors";
import type { KubeObject } from "../../../api/meta";
import { fieldInvalid, fieldNotSupported, fieldRequired } from "../../../api/validation";
import { API_AUDIENCES, type ServiceAccountTokenSigner, type TokenGrant } from "../../auth/serviceaccount/index";
import { parseBody } from "../body";
import { timestamp } from "../objects/codec";
import type { ApiContext } from "./context";
import { json } from "./respond";

const DEFAULT_EXPIRATION_SECONDS = 3600;
const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;

interface BoundObjectRef {
  kind?: string;
  apiVersion?: string;
  name?: string;
  uid?: string;
}

interface TokenRequestSpec {
  audiences?: string[] | null;
  expirationSeconds?: number | null;
  boundObjectRef?: BoundObjectRef | null;
}

function validate(spec: TokenRequestSpec): FieldError[] {
  const errs: FieldError[] = [];
  const exp = spec.expirationSeconds;
  if (exp != null) {
    if (!Number.isInteger(exp)) errs.push(fieldInvalid("spec.expirationSeconds", exp, "must be an integer"));
    else if (exp < MIN_EXPIRATION_SECONDS) errs.push(fieldInvalid("spec.expirationSeconds", exp, "may not specify a duration less than 10 minutes"));
    else if (exp > MAX_EXPIRATION_SECONDS) errs.push(fieldInvalid("spec.expirationSeconds", exp, "may not specify a duration larger than 2^32 seconds"));
  }
  if (spec.audiences != null && (!Array.isArray(spec.audiences) || spec.audiences.some((a) => typeof a !== "string")))
    errs.push(fieldInvalid("spec.audiences", spec.audiences, "must be a list of strings"));
  const ref = spec.boundObjectRef;
  if (ref != null) {
    if (!ref.kind) errs.push(fieldRequired("spec.boundObjectRef.kind"));
    else if (ref.kind !== "Pod" && ref.kind !== "Secret") errs.push(fieldNotSupported("spec.boundObjectRef.kind", ref.kind, ["Pod", "Secret"]));
    if (ref.apiVersion && ref.apiVersion !== "v1") errs.push(fieldNotSupported("spec.boundObjectRef.apiVersion", ref.apiVersion, ["v1"]));
    if (!ref.name) errs.push(fieldRequired("spec.boundObjectRef.name"));
  }
  return errs;
}

const refOf = (o: KubeObject) => ({ name: o.metadata.name!, uid: o.metadata.uid! });

export async function createToken(ctx: ApiContext, sign: ServiceAccountTokenSigner, req: Request, namespace: string, name: string) {
  const body = (await parseBody(req)) as { metadata?: Record<string, unknown>; spec?: TokenRequestSpec } | null;
  if (!body || typeof body !== "object") throw badRequest("the request body must be a TokenRequest");
  const spec: TokenRequestSpec = body.spec && typeof body.spec === "object" ? body.spec : {};
  const errs = validate(spec);
  if (errs.length) throw invalid(SUBRESOURCE_KINDS.token, name, fieldCauses(errs));

  const account = ctx.objects.get(ctx.resource("", "serviceaccounts"), namespace, name);
  const grant: TokenGrant = {
    namespace,
    serviceaccount: refOf(account),
    audiences: spec.audiences?.length ? spec.audiences : [...API_AUDIENCES],
    expirationSeconds: spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS,
  };
  const ref = spec.boundObjectRef;
  if (ref) {
    const bound = ctx.objects.get(ctx.resource("", ref.kind === "Pod" ? "pods" : "secrets"), namespace, ref.name!);
    if (ref.uid && ref.uid !== bound.metadata.uid)
      throw conflict({ group: "", plural: ref.kind!, kind: ref.kind! }, ref.name!, `the UID in the bound object reference (${ref.uid}) does not match the UID in record (${bound.metadata.uid}). The object might have been deleted and then recreated`);
    if (ref.kind === "Pod") {
      const podSpec = (bound.spec ?? {}) as { serviceAccountName?: string; nodeName?: string };
      const runsAs = podSpec.serviceAccountName || "default";
      if (runsAs !== name) throw badRequest(`cannot bind token for serviceaccount "${name}" to pod running with serviceaccount "${runsAs}"`);
      grant.pod = refOf(bound);
      const node = podSpec.nodeName ? ctx.objects.tryGet(ctx.resource("", "nodes"), undefined, podSpec.nodeName) : undefined;
      if (node) grant.node = refOf(node);
    } else grant.secret = refOf(bound);
  }

  const signed = await sign(grant);
  return json(
    {
      kind: "TokenRequest",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { name, namespace, creationTimestamp: timestamp() },
      spec: {
        audiences: grant.audiences,
        expirationSeconds: grant.expirationSeconds,
        boundObjectRef: ref ? { kind: ref.kind, apiVersion: "v1", name: ref.name, uid: (grant.pod ?? grant.secret)!.uid } : null,
      },
      status: { token: signed.token, expirationTimestamp: timestamp(signed.expiresAt) },
    },
    201,
  );
}
