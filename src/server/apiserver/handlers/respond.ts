// JSON responses and Status errors.
import { ApiError, type Status } from "../../../api/errors";

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** A Status error; a suggested retry delay also goes out as Retry-After, as upstream's response writers do. */
export const statusResponse = (e: ApiError) => {
  const retry = e.details?.retryAfterSeconds;
  return json(e.toStatus(), e.code, retry && retry > 0 ? { "retry-after": String(retry) } : {});
};

export const success = (details: Status["details"] = {}, code = 200): Status => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Success",
  details,
  code,
});
