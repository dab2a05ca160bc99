// Building blocks for resource schemas. TypeBox schemas are plain JSON Schema objects, so the
// same value validates requests, gives the TypeScript type (Static<>) and goes into OpenAPI.
// Kubernetes list semantics for strategic merge patch ride along as schema extensions.
import { Type, type TSchema, type TProperties, type ObjectOptions } from "@sinclair/typebox";

/** A list merged element by element on `key` by strategic merge patch (and kubectl apply). */
export const MergeList = <T extends TSchema>(item: T, key: string, opts: Record<string, unknown> = {}) =>
  Type.Array(item, {
    "x-kubernetes-patch-merge-key": key,
    "x-kubernetes-patch-strategy": "merge",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": [key],
    ...opts,
  });

/** A list of scalars merged as a set by strategic merge patch (e.g. finalizers). */
export const MergeSet = <T extends TSchema>(item: T) =>
  Type.Array(item, { "x-kubernetes-patch-strategy": "merge", "x-kubernetes-list-type": "set" });

/** An object whose fields are listed, all optional unless wrapped by Required(). */
export const Obj = <P extends TProperties>(props: P, opts: ObjectOptions = {}) =>
  Type.Object(props, { additionalProperties: false, ...opts });

export const StringMap = Type.Record(Type.String(), Type.String());

/** int-or-string (ports, maxSurge/maxUnavailable). */
export const IntOrString = Type.Union([Type.Integer(), Type.String()], { "x-kubernetes-int-or-string": true });

/** The schema with a description of the field it types, as `kubectl explain` shows it. */
export const Doc = <T extends TSchema>(schema: T, description: string): T => ({ ...schema, description });

/** Free-form object kept as sent (used sparingly, for parts bramble passes through untouched). */
export const Opaque = (description: string) =>
  Type.Object({}, { additionalProperties: true, "x-kubernetes-preserve-unknown-fields": true, description });

/** Resource quantity ("250m", "64Mi", 2). */
export const Quantity = Type.Union([Type.String(), Type.Number()], { "x-kubernetes-int-or-string": true });

export const Time = Type.String({ format: "date-time" });

export const OwnerReferenceSchema = Obj({
  apiVersion: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  uid: Type.String(),
  controller: Type.Optional(Type.Boolean()),
  blockOwnerDeletion: Type.Optional(Type.Boolean()),
});

export const ObjectMetaSchema = Obj({
  name: Type.Optional(Type.String()),
  generateName: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  uid: Type.Optional(Type.String()),
  resourceVersion: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Integer()),
  creationTimestamp: Type.Optional(Type.Union([Time, Type.Null()])),
  deletionTimestamp: Type.Optional(Time),
  deletionGracePeriodSeconds: Type.Optional(Type.Integer()),
  labels: Type.Optional(StringMap),
  annotations: Type.Optional(StringMap),
  ownerReferences: Type.Optional(MergeList(OwnerReferenceSchema, "uid")),
  finalizers: Type.Optional(MergeSet(Type.String())),
  managedFields: Type.Optional(Type.Array(Type.Unknown())),
  selfLink: Type.Optional(Type.String()),
});

export const LabelSelectorSchema = Obj({
  matchLabels: Type.Optional(StringMap),
  matchExpressions: Type.Optional(
    Type.Array(
      Obj({
        key: Type.String(),
        operator: Type.Union([Type.Literal("In"), Type.Literal("NotIn"), Type.Literal("Exists"), Type.Literal("DoesNotExist")]),
        values: Type.Optional(Type.Array(Type.String())),
      }),
    ),
  ),
});

/** The envelope every top-level object shares. */
export const TopLevel = <P extends TProperties>(props: P, description: string) =>
  Obj(
    {
      apiVersion: Type.Optional(Type.String()),
      kind: Type.Optional(Type.String()),
      metadata: Type.Optional(ObjectMetaSchema),
      ...props,
    },
    { description },
  );
