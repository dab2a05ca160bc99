import { describe, expect, test } from "bun:test";
import { defaultNetworkPolicy, validateNetworkPolicy, type NetworkPolicy } from "./networkpolicy";

const np = (spec: NetworkPolicy["spec"]): NetworkPolicy => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "p", namespace: "default" }, spec });
const fields = (p: NetworkPolicy) => validateNetworkPolicy(p).map((e) => `${e.field}: ${e.message ?? ""}`);

describe("NetworkPolicy", () => {
  test("defaults: Ingress always, Egress when egress rules exist, TCP ports", () => {
    const a = np({ ingress: [{ ports: [{ port: 80 }] }] });
    defaultNetworkPolicy(a);
    expect(a.spec!.policyTypes).toEqual(["Ingress"]);
    expect(a.spec!.podSelector).toEqual({});
    expect(a.spec!.ingress![0]!.ports![0]!.protocol).toBe("TCP");
    const b = np({ egress: [{}] });
    defaultNetworkPolicy(b);
    expect(b.spec!.policyTypes).toEqual(["Ingress", "Egress"]);
    const c = np({ policyTypes: ["Egress"] });
    defaultNetworkPolicy(c);
    expect(c.spec!.policyTypes).toEqual(["Egress"]);
  });

  test("validation as upstream's", () => {
    expect(fields(np({ podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { a: "b" } } }], ports: [{ port: "http" }, { port: 80, endPort: 90 }] }] }))).toEqual([]);
    const errs = validateNetworkPolicy(
      np({
        ingress: [{ ports: [{ protocol: "ICMP" }, { port: 0 }, { port: 90, endPort: 80 }, { port: "web", endPort: 9 }, { endPort: 9 }], from: [{}, { ipBlock: { cidr: "10.0.0.0/8" }, podSelector: {} }] }],
        egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/16", except: ["10.1.0.0/24", "10.0.0.0/16", "x"] } }, { ipBlock: { cidr: "" } }] }],
        policyTypes: ["Ingress", "Foo"],
      }),
    );
    expect(errs.map((e) => e.field)).toEqual([
      "spec.ingress[0].ports[0].protocol",
      "spec.ingress[0].ports[1].port",
      "spec.ingress[0].ports[2].endPort",
      "spec.ingress[0].ports[3].endPort",
      "spec.ingress[0].ports[4].endPort",
      "spec.ingress[0].from[0]",
      "spec.ingress[0].from[1]",
      "spec.egress[0].to[0].ipBlock.except[0]",
      "spec.egress[0].to[0].ipBlock.except[1]",
      "spec.egress[0].to[0].ipBlock.except[2]",
      "spec.egress[0].to[1].ipBlock.cidr",
      "spec.policyTypes[1]",
    ]);
    expect(validateNetworkPolicy(np({ policyTypes: ["Ingress", "Egress", "Ingress"] }))[0]!.field).toBe("spec.policyTypes");
  });
});
