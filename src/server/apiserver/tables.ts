// `kubectl get` asks for `as=Table`: rows of the resource's columns, computed server-side.
import type { KubeObject } from "../../api/meta";
import type { ResourceDef } from "../../api/resource";
import { fromStored } from "./handlers/versions";

export const wantsTable = (req: Request) => /as=Table/.test(req.headers.get("accept") ?? "");

function rowObject(def: ResourceDef, obj: KubeObject, includeObject: string) {
  if (includeObject === "None") return undefined;
  if (includeObject === "Object") return fromStored(def, obj);
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: obj.metadata };
}

/** Rows of stored objects (the columns read the stored version); embedded objects in the version of `def`. */
export function toTable(def: ResourceDef, objects: KubeObject[], url: URL, listMeta: Record<string, unknown> = {}) {
  const now = new Date();
  const includeObject = url.searchParams.get("includeObject") ?? "Metadata";
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
    columnDefinitions: def.table.columns,
    rows: objects.map((obj) => ({ cells: def.table.row(obj, now), object: rowObject(def, obj, includeObject) })),
  };
}
