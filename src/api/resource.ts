// A resource is described once, here: its identity (a row of the kind table, kinds.ts), its
// TypeBox schema (the single source of its TypeScript type, its validation and the OpenAPI
// document kubectl downloads, merge keys included), its defaults, its semantic validation and
// its table columns.
import type { TSchema } from "@sinclair/typebox";
import type { FieldError } from "./errors";
import type { KindIdentity } from "./kinds";
import type { KubeObject } from "./meta";

export { apiVersionOf } from "./kinds";

export interface TableColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  format?: string;
  description: string;
  /** 0: shown by `kubectl get`; 1: only with `-o wide`. */
  priority: 0 | 1;
}

export type Subresource = "status" | "scale" | "binding" | "eviction" | "log" | "exec" | "attach" | "portforward" | "token" | "proxy" | "ephemeralcontainers";

/**
 * A subresource through which a client replaces one part of an object's spec and nothing else
 * (pods/ephemeralcontainers): what it takes from the request, and the update rules that hold
 * for it instead of `immutable`.
 */
export interface PartialWrite<T extends KubeObject = KubeObject> {
  /** The stored object with the part taken from the client's object. */
  merge(old: T, obj: T): T;
  validateUpdate(next: T, old: T): FieldError[];
}

export interface ScaleSpec {
  /** Reads spec.replicas, status.replicas and the selector of the object for the Scale subresource. */
  specReplicas(obj: KubeObject): number;
  statusReplicas(obj: KubeObject): number;
  selector(obj: KubeObject): string;
  setSpecReplicas(obj: KubeObject, n: number): void;
}

/**
 * Another version a kind is served in besides the stored one (autoscaling/v1 of a stored
 * autoscaling/v2 HorizontalPodAutoscaler), as upstream's conversion functions: the store and the
 * object layer only ever see the stored version; the handlers convert at the edge.
 */
export interface ServedVersion {
  version: string;
  /** The object in this version: decoding, validation of unknown fields, OpenAPI. */
  schema: TSchema;
  /** The package of its protobuf message; default upstream's for the group ("autoscaling"). */
  protobufPackage?: string;
  /** This version's object (apiVersion already this version) → the stored version's, losing nothing. */
  toStored(obj: KubeObject): KubeObject;
  /** The stored object → this version's (it must not change its argument). */
  fromStored(obj: KubeObject): KubeObject;
}

export interface ResourceDef<T extends KubeObject = KubeObject> extends KindIdentity {
  /** Full object schema (apiVersion, kind, metadata, spec, status...). */
  schema: TSchema;
  /** The schema OpenAPI publishes, when it is not `schema` (a custom resource's, from its CRD). */
  publishedSchema?: TSchema;
  subresources: Subresource[];
  /**
   * True when the object has a spec/status split: writes to the main resource keep the stored
   * status, writes to /status keep everything but status, and spec changes bump generation.
   */
  hasStatus: boolean;
  /**
   * Fields of a request's object the kind will drop that `schema` does not tell (a custom
   * resource's pruning): reported, or refused, as `fieldValidation` says.
   */
  unknownFields?(obj: KubeObject): string[];
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
  /** Other versions served besides the stored one (`version`), in discovery order after it. */
  versions?: ServedVersion[];
  /**
   * Set by the registry on the definition it derives for each of `versions`: the stored
   * definition and the conversion. Absent on a stored definition.
   */
  servedAs?: { stored: ResourceDef<T>; toStored(obj: KubeObject): KubeObject; fromStored(obj: KubeObject): KubeObject };
  /** Subresources that write one part of the spec, by name (GET, PUT and PATCH like /status). */
  partialWrites?: Partial<Record<Subresource, PartialWrite<T>>>;

  // Per-kind behaviour the generic object layer asks about, as upstream's registry strategies
  // (pkg/registry/<group>/<kind>/strategy.go). Each is optional: absent, the generic rule holds.

  /** The grammar of metadata.name and generateName; default a DNS-1123 subdomain. */
  nameValidator?: (name: string) => string[];
  /** Status sent on create is kept; by default it is the controllers' to write and dropped. */
  keepsStatusOnCreate?: boolean;
  /** Refuses to delete the object: the reason, shown as `<plural> "<name>" is forbidden: <reason>`. */
  deletionRefused?(obj: T): string | undefined;
  /** Seconds the object stays, Terminating, before it goes (upstream's CheckGracefulDelete); default 0. */
  deletionGracePeriod?(obj: T, requested: number | undefined): number;
  /**
   * Deletion is the kind's controller's to finish: instead of the generic deletion (grace,
   * propagation) the object is written as returned, or left alone when this returns undefined.
   */
  markDeleted?(obj: T, now: string): T | undefined;
  /** A deleted object whose finalizers are all gone still waits while this holds. */
  deletionHeld?(obj: T): boolean;
  /**
   * Whether an update only renews a heartbeat, so the store may hold it in memory instead of
   * writing it durably at once. `same` compares two objects as they would be stored.
   */
  isHeartbeat?(old: T, next: T, same: (a: T, b: T) => boolean): boolean;
}
