// String formats the resource schemas use. TypeBox checks a string's `format` only against
// formats registered here and fails unknown ones, so every format a schema names must be
// registered before the schemas are compiled; registry.ts imports this module for that.
import { FormatRegistry } from "@sinclair/typebox";

/** RFC 3339 as Kubernetes writes it: metav1.Time ("...Z") and MicroTime ("....000000Z"). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

if (!FormatRegistry.Has("date-time")) FormatRegistry.Set("date-time", (v) => RFC3339.test(v) && !Number.isNaN(Date.parse(v)));
