// One call of one webhook: the AdmissionReview it is sent (admission.k8s.io/v1, or v1beta1 when
// that is the only version the webhook accepts), over HTTPS trusting the configuration's
// caBundle, bounded by its timeoutSeconds, and what its answer means: allowed or denied with a
// status, a JSONPatch to apply, warnings. Loaded only once a webhook configuration exists.
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { ApiError, type StatusReason } from "../../../../api/errors";
import type { KubeObject } from "../../../../api/meta";
import type { Webhook } from "../../../../api/resources/admissionregistration/webhooks";
import { jsonPatch } from "../../patch/json-patch";
import type { RequestAttributes } from "./match";

/** Where a webhook is reached: a URL, and the name its certificate must carry when not the URL's host. */
export interface Endpoint {
  url: string;
  serverName?: string;
}

export interface ReviewInput {
  attrs: RequestAttributes;
  kind: string;
  name: string;
  namespace: string;
  object?: KubeObject;
  oldObject?: KubeObject;
  dryRun: boolean;
  user: { username: string; groups: string[] };
}

export interface WebhookAnswer {
  allowed: boolean;
  /** The object after the webhook's JSONPatch, when it sent one. */
  patched?: KubeObject;
  warnings: string[];
}

const OPTIONS_KIND: Record<string, string> = { CREATE: "CreateOptions", UPDATE: "UpdateOptions", DELETE: "DeleteOptions" };

/** The AdmissionReview sent for a request, in the review version the webhook accepts. */
export function admissionReview(w: Webhook, r: ReviewInput, uid: string = crypto.randomUUID()) {
  const version = (w.admissionReviewVersions ?? ["v1"]).find((v) => v === "v1" || v === "v1beta1") ?? "v1";
  const a = r.attrs;
  const kind = { group: a.group, version: a.version, kind: r.kind };
  const resource = { group: a.group, version: a.version, resource: a.resource };
  const apiVersion = a.group ? `${a.group}/${a.version}` : a.version;
  const typed = (o: KubeObject | undefined) => (o ? { ...o, apiVersion, kind: r.kind } : null);
  const request: Record<string, unknown> = {
    uid,
    kind,
    resource,
    ...(a.subresource ? { subResource: a.subresource } : {}),
    requestKind: kind,
    requestResource: resource,
    ...(a.subresource ? { requestSubResource: a.subresource } : {}),
    name: r.name,
    ...(r.namespace ? { namespace: r.namespace } : {}),
    operation: a.operation,
    userInfo: r.user,
    object: typed(r.object),
    oldObject: typed(r.oldObject),
    dryRun: r.dryRun,
    options: OPTIONS_KIND[a.operation] ? { apiVersion: "meta.k8s.io/v1", kind: OPTIONS_KIND[a.operation] } : null,
  };
  return { apiVersion: `admission.k8s.io/${version}`, kind: "AdmissionReview", request };
}

/** The error upstream gives for a webhook that could not be called or answered nonsense. */
export const callFailed = (name: string, detail: string) =>
  new ApiError(500, "InternalError", `Internal error occurred: failed calling webhook "${name}": ${detail}`);

/** A denial, in upstream's words, with the webhook's status code (at least 400) and reason. */
export function denied(name: string, status: { code?: number; reason?: string; message?: string } | undefined): ApiError {
  const by = `admission webhook "${name}" denied the request`;
  const code = status?.code && status.code >= 400 ? status.code : 400;
  const message = status?.message ? `${by}: ${status.message}` : status?.reason ? `${by}: ${status.reason}` : `${by} without explanation`;
  return new ApiError(code, (status?.reason || (code === 403 ? "Forbidden" : "BadRequest")) as StatusReason, message);
}

/** The TLS errors that mean the certificate's issuer is not in the caBundle. */
const UNTRUSTED = new Set(["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "UNABLE_TO_GET_ISSUER_CERT", "CERT_SIGNATURE_FAILURE"]);

function describeFetchError(e: unknown, post: string, host: string, timedOut: boolean, serverName?: string): string {
  if (timedOut) return `failed to call webhook: ${post}: context deadline exceeded`;
  const err = e as { code?: string; message?: string };
  if (err.code === "ECONNREFUSED" || err.code === "ConnectionRefused") return `failed to call webhook: ${post}: dial tcp ${host}: connect: connection refused`;
  if (err.code && UNTRUSTED.has(err.code)) return `failed to call webhook: ${post}: tls: failed to verify certificate: x509: certificate signed by unknown authority`;
  if (err.code === "ERR_TLS_CERT_ALTNAME_INVALID") return `failed to call webhook: ${post}: tls: failed to verify certificate: x509: certificate is not valid for ${serverName ?? host.replace(/:\d+$/, "")}`;
  return `failed to call webhook: ${post}: ${err.message ?? String(e)}`;
}

/** Calls the webhook; throws the API error the request fails with (call failure or denial). */
export async function callWebhook(w: Webhook, endpoint: Endpoint, r: ReviewInput): Promise<WebhookAnswer> {
  const review = admissionReview(w, r);
  const timeout = w.timeoutSeconds ?? 10;
  const url = new URL(endpoint.url);
  url.searchParams.set("timeout", `${timeout}s`);
  const post = `Post "${url}"`;
  const ca = w.clientConfig.caBundle ? Buffer.from(w.clientConfig.caBundle, "base64").toString() : undefined;
  const serverName = endpoint.serverName;
  const tls = {
    ...(ca ? { ca } : {}),
    ...(serverName ? { checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(serverName, cert) } : {}),
  };
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeout * 1000);
  let body: any;
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(review),
      signal: controller.signal,
      tls,
    } as RequestInit);
    const text = await res.text();
    if (res.status < 200 || res.status >= 300)
      throw callFailed(w.name, `failed to call webhook: an error on the server ("${text.slice(0, 200).trim()}") has prevented the request from succeeding`);
    try {
      body = JSON.parse(text);
    } catch {
      throw callFailed(w.name, "received invalid webhook response: the response is not JSON");
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw callFailed(w.name, describeFetchError(e, post, `${url.hostname}:${url.port || 443}`, timedOut, serverName));
  } finally {
    clearTimeout(timer);
  }
  const response = body?.response;
  if (!response || typeof response !== "object") throw callFailed(w.name, "received invalid webhook response: response is missing");
  if (response.uid !== review.request.uid)
    throw callFailed(w.name, `received invalid webhook response: expected response.uid="${review.request.uid}", got "${response.uid ?? ""}"`);
  const warnings = Array.isArray(response.warnings) ? response.warnings.filter((x: unknown) => typeof x === "string") : [];
  if (!response.allowed) return Promise.reject(Object.assign(denied(w.name, response.status), { warnings }));
  const answer: WebhookAnswer = { allowed: true, warnings };
  if (response.patch && r.object) {
    if (response.patchType !== "JSONPatch") throw callFailed(w.name, `received invalid webhook response: unsupported patch type "${response.patchType ?? ""}"`);
    try {
      const ops = JSON.parse(Buffer.from(String(response.patch), "base64").toString());
      answer.patched = jsonPatch(structuredClone(r.object), ops) as KubeObject;
    } catch (e) {
      throw new ApiError(500, "InternalError", `Internal error occurred: JSON patch from webhook "${w.name}" could not be applied: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return answer;
}
