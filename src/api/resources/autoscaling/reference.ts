// CrossVersionObjectReference: the scale target of a HorizontalPodAutoscaler, the same in every
// version of autoscaling (its own file so hpa-v1.ts and horizontalpodautoscaler.ts, which import
// each other's values otherwise, can both use it).
import { Type } from "@sinclair/typebox";
import { Obj } from "../../schema";

export const CrossVersionObjectReferenceSchema = Obj({ kind: Type.String(), name: Type.String(), apiVersion: Type.Optional(Type.String()) });
