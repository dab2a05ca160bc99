// Binding schemas to protobuf messages: the served kinds bind, and a schema field that the
// message table does not carry (or carries as another type) is named.
import { describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { resources as stored, servedResources } from "../../../api/registry";
import { Int32, Int64 } from "../../../api/resources/common";
import { ProbeSchema } from "../../../api/resources/core/podspec.schema";
import { Obj, Opaque, StringMap, Time, TopLevel } from "../../../api/schema";
import { messageOf } from "./index";
import { assertSchemasBound, bindSchema } from "./schemas";

// The synthetic kinds below are bound with this package table; the served ones with the server's.
const resources = servedResources(stored);
const PACKAGES = { v1: "core", "apps/v1": "apps", "coordination.k8s.io/v1": "coordination" };

describe("bindSchema", () => {
  test("every served kind binds to its message", () => {
    for (const def of resources) expect(bindSchema(def.schema, messageOf(def) ?? "?", def.kind)).toEqual([]);
  });

  test("a schema field without a protobuf field is named with its path", () => {
    const schema = TopLevel({ data: Type.Optional(StringMap), spec: Obj({ replicas: Int32() }) }, "x");
    expect(bindSchema(schema, "core.ConfigMap", "ConfigMap")).toEqual(["ConfigMap.spec: no field in protobuf message core.ConfigMap"]);
    const lease = TopLevel({ spec: Obj({ holderIdentity: Type.String(), holderColour: Type.String() }) }, "x");
    expect(bindSchema(lease, "coordination.Lease", "Lease")).toEqual(["Lease.spec.holderColour: no field in protobuf message coordination.LeaseSpec"]);
  });

  test("types that the wire type cannot carry are named", () => {
    const lease = TopLevel(
      {
        spec: Obj({
          holderIdentity: Type.Array(Type.String()), // a string in protobuf
          leaseDurationSeconds: Int64(), // int32 in protobuf
          acquireTime: Type.Boolean(), // a MicroTime
          renewTime: Time,
          leaseTransitions: Type.Integer(), // no format: int32 or int64 both carry it
          strategy: Obj({ name: Type.String() }), // a string
        }),
      },
      "x",
    );
    expect(bindSchema(lease, "coordination.Lease", "Lease")).toEqual([
      "Lease.spec.holderIdentity: a list in the schema, not repeated in protobuf",
      "Lease.spec.leaseDurationSeconds: int64 in the schema, int32 in protobuf",
      "Lease.spec.acquireTime: bool in the schema, meta.MicroTime in protobuf",
      "Lease.spec.strategy: object in the schema, string in protobuf",
    ]);
    const cm = TopLevel({ data: Type.Array(Type.String()), binaryData: Obj({}) }, "x");
    expect(bindSchema(cm, "core.ConfigMap", "ConfigMap")).toEqual([
      "ConfigMap.data: a list in the schema, not repeated in protobuf",
      "ConfigMap.binaryData: a map in protobuf, not in the schema",
    ]);
  });

  test("inlined messages lend their fields (a probe's handler); Opaque parts take any message", () => {
    expect(bindSchema(ProbeSchema, "core.Probe", "Probe")).toEqual([]);
    const node = TopLevel({ spec: Obj({ configSource: Opaque("kept as sent"), taints: Type.Array(Opaque("kept")) }) }, "x");
    expect(bindSchema(node, "core.Node", "Node")).toEqual([]);
  });

  test("a kind whose group version has no protobuf package, or no message, stops the start", () => {
    const widget = { ...resources[0]!, group: "example.com", version: "v1", kind: "Widget" };
    expect(() => assertSchemasBound([widget], PACKAGES)).toThrow("Widget: no protobuf package for example.com/v1");
    expect(() => assertSchemasBound([widget], { ...PACKAGES, "example.com/v1": "example" })).toThrow("Widget: no protobuf message example.Widget");
  });
});
