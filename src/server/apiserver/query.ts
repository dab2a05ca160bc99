// Query parameters shared by the verbs: selectors, dry run, paging.
import { boolQueryParam } from "../../api/bool-param";
import { badRequest } from "../../api/errors";
import type { KubeObject } from "../../api/meta";
import type { ResourceDef } from "../../api/resource";
import { checkFieldSelectorFields, parseFieldSelector, parseLabelSelector } from "../../api/selectors";

/** `dryRun=All` is the only value upstream accepts. */
export function isDryRun(url: URL): boolean {
  const values = url.searchParams.getAll("dryRun");
  for (const v of values) if (v !== "All") throw badRequest(`unsupported dryRun value "${v}": only "All" is supported`);
  return values.length > 0;
}

export function intParam(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

/** A boolean query parameter as kube-apiserver reads it (see api/bool-param); `absent` when not given. */
export function boolParam(url: URL, name: string, absent = false): boolean {
  return boolQueryParam(url.searchParams, name, absent);
}

/** Reads a field for field selectors: metadata.name, metadata.namespace and the resource's own. */
export function fieldGetter(def: ResourceDef, obj: KubeObject) {
  return (field: string): string | undefined => {
    if (field === "metadata.name") return obj.metadata.name;
    if (field === "metadata.namespace") return obj.metadata.namespace;
    return def.fieldSelectors?.[field]?.(obj);
  };
}

/** A predicate for objects matching the request's labelSelector and fieldSelector (and name). */
export function objectFilter(def: ResourceDef, url: URL, name?: string): ((obj: KubeObject) => boolean) | undefined {
  const labels = parseLabelSelector(url.searchParams.get("labelSelector") ?? "");
  let fieldText = url.searchParams.get("fieldSelector") ?? "";
  if (name) fieldText = fieldText ? `${fieldText},metadata.name=${name}` : `metadata.name=${name}`;
  const fields = parseFieldSelector(fieldText);
  checkFieldSelectorFields(fields, ["metadata.name", "metadata.namespace", ...Object.keys(def.fieldSelectors ?? {})]);
  if (labels.isEmpty() && fields.isEmpty()) return undefined;
  return (obj) => labels.matches(obj.metadata.labels) && fields.matches(fieldGetter(def, obj));
}

interface ContinueToken {
  rv: number;
  start: string;
}

export function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify(t)).toString("base64url");
}

export function decodeContinue(raw: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(raw, "base64url").toString()) as ContinueToken;
    if (typeof t.rv !== "number" || typeof t.start !== "string") throw new Error("bad token");
    return t;
  } catch {
    throw badRequest("continue key is not valid: the token is malformed");
  }
}
