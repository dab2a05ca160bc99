// JSON responses and Status errors.
import { ApiError, type Status } from "../../../api/errors";

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

export const statusResponse = (e: ApiError) => json(e.toStatus(), e.code);

export const success = (details: Status["details"] = {}, code = 200): Status => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Success",
  details,
  code,
});
