// Kubernetes metav1.Status errors. Every failure the API returns is one of these, so clients
// (kubectl, client-go, client-node) see the reason and code they expect, never a bare 500.

export type StatusReason =
  | "BadRequest"
  | "Unauthorized"
  | "Forbidden"
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Gone"
  | "Invalid"
  | "MethodNotAllowed"
  | "NotAcceptable"
  | "RequestEntityTooLarge"
  | "UnsupportedMediaType"
  | "Expired"
  | "TooManyRequests"
  | "InternalError"
  | "ServiceUnavailable"
  | "Timeout";

export interface StatusCause {
  reason: string; // FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueDuplicate, FieldValueForbidden, FieldValueTooLong, FieldValueTooMany
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, unknown>;
  status: "Success" | "Failure";
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): Status {
    const s: Status = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

/** A resource identity for error messages: `pods "web"`, `deployments.apps "web"`. */
export interface Target {
  group: string;
  plural: string;
  kind: string;
  name?: string;
}

const qualified = (t: Target) => (t.group ? `${t.plural}.${t.group}` : t.plural);

export const badRequest = (message: string) => new ApiError(400, "BadRequest", message);

export const unauthorized = () => new ApiError(401, "Unauthorized", "Unauthorized");

export const forbidden = (message: string) => new ApiError(403, "Forbidden", message);

export const notFound = (t: Target, name: string) =>
  new ApiError(404, "NotFound", `${qualified(t)} "${name}" not found`, {
    name,
    group: t.group || undefined,
    kind: t.plural,
  });

/** 404 for a path the server does not serve at all. */
export const pathNotFound = (path: string) =>
  new ApiError(404, "NotFound", `the server could not find the requested resource (${path})`);

export const alreadyExists = (t: Target, name: string) =>
  new ApiError(409, "AlreadyExists", `${qualified(t)} "${name}" already exists`, {
    name,
    group: t.group || undefined,
    kind: t.plural,
  });

export const conflict = (t: Target, name: string, why: string) =>
  new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualified(t)} "${name}": ${why}`,
    { name, group: t.group || undefined, kind: t.plural },
  );

export const staleResourceVersion = (t: Target, name: string) =>
  conflict(t, name, "the object has been modified; please apply your changes to the latest version and try again");

export const gone = (message: string) => new ApiError(410, "Expired", message);

export const invalid = (t: Target, name: string, causes: StatusCause[]) =>
  new ApiError(
    422,
    "Invalid",
    // Every cause is kept; the message names each distinct one once, as upstream's aggregate does.
    `${t.kind}${t.group ? `.${t.group}` : ""} "${name}" is invalid: ${[...new Set(causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)))].join(", ")}`,
    { name, group: t.group || undefined, kind: t.kind, causes },
  );

export const methodNotAllowed = (message: string) => new ApiError(405, "MethodNotAllowed", message);

/** Upstream's NewRequestEntityTooLargeError wording for a body over the limit. */
export const tooLarge = (limit: number) => new ApiError(413, "RequestEntityTooLarge", `Request entity too large: limit is ${limit}`);

export const unsupportedMediaType = (type: string) =>
  new ApiError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/apply-patch+yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${type})`);

export const internal = (message: string) => new ApiError(500, "InternalError", message);

/** A field-level problem found by validation; turned into an Invalid Status by the caller. */
export interface FieldError {
  field: string;
  type: "Required" | "Invalid" | "NotSupported" | "Duplicate" | "Forbidden" | "TooLong" | "TooMany";
  message: string;
}

export const fieldCauses = (errs: FieldError[]): StatusCause[] =>
  errs.map((e) => ({ reason: `FieldValue${e.type}`, message: e.message, field: e.field }));
