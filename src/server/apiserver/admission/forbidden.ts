// The 403 an admission step answers with, worded as upstream's admission.NewForbidden:
// `pods "web" is forbidden: <reason>`, with the object's identity in the details.
import { ApiError } from "../../../api/errors";
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";

export function forbiddenFor(def: ResourceDef, obj: KubeObject, reason: string): ApiError {
  const resource = def.group ? `${def.plural}.${def.group}` : def.plural;
  const name = obj.metadata.name ?? "";
  return new ApiError(403, "Forbidden", `${resource} "${name}" is forbidden: ${reason}`, { name, group: def.group || undefined, kind: def.plural });
}
