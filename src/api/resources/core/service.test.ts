import { describe, expect, test } from "bun:test";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import "../formats";
import { services, type Service } from "./service";

const check = TypeCompiler.Compile(services.schema);
const now = new Date("2024-05-01T12:00:00Z");

const svc = (spec: Record<string, unknown>, name = "web"): Service =>
  ({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default", creationTimestamp: "2024-05-01T11:00:00Z" }, spec }) as Service;

const fields = (s: Service) => {
  services.defaults(s);
  return services.validate(s).map((e) => `${e.field} ${e.type}`);
};

describe("service", () => {
  test("a realistic manifest passes the schema, defaults fill in, validation is clean", () => {
    const s = svc({
      type: "NodePort",
      selector: { app: "web" },
      ports: [
        { name: "http", port: 80, targetPort: "http", nodePort: 30080 },
        { name: "dns", port: 53, protocol: "UDP" },
      ],
      sessionAffinity: "ClientIP",
    });
    expect(check.Check(s)).toBe(true);
    services.defaults(s);
    expect(s.spec).toMatchObject({
      type: "NodePort",
      sessionAffinity: "ClientIP",
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      externalTrafficPolicy: "Cluster",
      internalTrafficPolicy: "Cluster",
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
    });
    expect(s.spec!.ports![0].protocol).toBe("TCP");
    expect(s.spec!.ports![1].targetPort).toBe(53);
    expect(services.validate(s)).toEqual([]);
    expect(check.Check(s)).toBe(true);
  });

  test("unknown fields fail the schema", () => {
    expect(check.Check(svc({ ports: [{ port: 80, tragetPort: 8080 }] }))).toBe(false);
  });

  test("ports are required unless headless or ExternalName", () => {
    expect(fields(svc({ selector: { a: "b" } }))).toEqual(["spec.ports Required"]);
    expect(fields(svc({ clusterIP: "None", selector: { a: "b" } }))).toEqual([]);
    expect(fields(svc({ type: "ExternalName", externalName: "db.example.com" }))).toEqual([]);
  });

  test("port rules", () => {
    expect(
      fields(
        svc({
          type: "ClusterIP",
          ports: [{ port: 80 }, { name: "b", port: 0, protocol: "HTTP", nodePort: 30000 }, { name: "b", port: 81, targetPort: 70000 }],
        }),
      ),
    ).toEqual([
      "spec.ports[0].name Required",
      "spec.ports[1].port Invalid",
      "spec.ports[1].protocol NotSupported",
      "spec.ports[1].targetPort Invalid",
      "spec.ports[1].nodePort Forbidden",
      "spec.ports[2].name Duplicate",
      "spec.ports[2].targetPort Invalid",
    ]);
    expect(fields(svc({ type: "NodePort", ports: [{ port: 80, nodePort: 70000 }] }))).toEqual(["spec.ports[0].nodePort Invalid"]);
  });

  test("type and traffic policy rules", () => {
    expect(fields(svc({ type: "Magic", ports: [{ port: 80 }] }))).toEqual(["spec.type NotSupported"]);
    expect(fields(svc({ ports: [{ port: 80 }], externalTrafficPolicy: "Local" }))).toEqual(["spec.externalTrafficPolicy Invalid"]);
    expect(fields(svc({ type: "NodePort", ports: [{ port: 80 }], externalTrafficPolicy: "Nearby" }))).toEqual(["spec.externalTrafficPolicy NotSupported"]);
    expect(fields(svc({ type: "NodePort", clusterIP: "None", ports: [{ port: 80 }] }))).toEqual(["spec.clusterIPs[0] Invalid"]);
    expect(fields(svc({ type: "ExternalName" }))).toEqual(["spec.externalName Required"]);
  });

  test("clusterIP is immutable; omitted allocated values carry over", () => {
    const old = svc({ type: "NodePort", clusterIP: "10.43.0.10", clusterIPs: ["10.43.0.10"], ports: [{ port: 80, protocol: "TCP", nodePort: 30080 }] });
    const replaced = svc({ type: "NodePort", ports: [{ port: 80, protocol: "TCP" }] });
    expect(services.immutable!(replaced, old)).toEqual([]);
    expect(replaced.spec!.clusterIP).toBe("10.43.0.10");
    expect(replaced.spec!.ports![0].nodePort).toBe(30080);
    const changed = svc({ type: "NodePort", clusterIP: "10.43.0.11", ports: [{ port: 80 }] });
    expect(services.immutable!(changed, old).map((e) => e.field)).toEqual(["spec.clusterIPs[0]"]);
  });

  test("table row", () => {
    const s = svc({ type: "NodePort", clusterIP: "10.43.0.10", selector: { app: "web", tier: "fe" }, ports: [{ port: 80, nodePort: 30080 }, { name: "x", port: 53, protocol: "UDP" }] });
    services.defaults(s);
    expect(services.table.columns.map((c) => c.name)).toEqual(["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"]);
    expect(services.table.row(s, now)).toEqual(["web", "NodePort", "10.43.0.10", "<none>", "80:30080/TCP,53/UDP", "60m", "app=web,tier=fe"]);
    const lb = svc({ type: "LoadBalancer", clusterIP: "10.43.0.12", ports: [{ port: 443 }] });
    services.defaults(lb);
    expect(services.table.row(lb, now)[3]).toBe("<pending>");
  });
});
