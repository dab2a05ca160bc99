// A resource is described once, here: its identity for routing and discovery, its TypeBox schema
// (the single source of its TypeScript type, its validation and the OpenAPI document kubectl
// downloads, merge keys included), its defaults, its semantic validation and its table columns.
import type { TSchema } from "@sinclair/typebox";
import type { FieldError } from "./errors";
import type { KubeObject } from "./meta";

export interface TableColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  format?: string;
  description: string;
  /** 0: shown by `kubectl get`; 1: only with `-o wide`. */
  priority: 0 | 1;
}

export type Subresource = "status" | "scale" | "binding" | "eviction" | "log" | "exec" | "portforward" | "token";

export interface ScaleSpec {
  /** Reads spec.replicas, status.replicas and the selector of the object for the Scale subresource. */
  specReplicas(obj: KubeObject): number;
  statusReplicas(obj: KubeObject): number;
  selector(obj: KubeObject): string;
  setSpecReplicas(obj: KubeObject, n: number): void;
}

export interface ResourceDef<T extends KubeObject = KubeObject> {
  group: string; // "" for the core group
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  categories?: string[];
  /** Full object schema (apiVersion, kind, metadata, spec, status...). */
  schema: TSchema;
  subresources: Subresource[];
  /**
   * True when the object has a spec/status split: writes to the main resource keep the stored
   * status, writes to /status keep everything but status, and spec changes bump generation.
   */
  hasStatus: boolean;
  /** Fill upstream's defaults in place (called on create and update, after decoding). */
  defaults(obj: T): void;
  /** Semantic validation beyond the schema (names, selectors, ranges, cross-field rules). */
  validate(obj: T, old?: T): FieldError[];
  table: { columns: TableColumn[]; row(obj: T, now: Date): unknown[] };
  /** Extra field selectors (metadata.name and metadata.namespace are always supported). */
  fieldSelectors?: Record<string, (obj: T) => string | undefined>;
  scale?: ScaleSpec;
  /** Fields that may not change on update (besides metadata.name/namespace/uid/creationTimestamp). */
  immutable?: (obj: T, old: T) => FieldError[];
}

export const apiVersionOf = (r: Pick<ResourceDef, "group" | "version">) =>
  r.group ? `${r.group}/${r.version}` : r.version;
