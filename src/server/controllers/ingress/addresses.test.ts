import { expect, test } from "bun:test";
import type { Node } from "../../../api/resources/core/node";
import { ingressAddresses, servedByBramble } from "./addresses";

const node = (name: string, ready: boolean, addresses: { type: string; address: string }[]): Node =>
  ({ metadata: { name }, status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }], addresses } }) as Node;

test("the Ready nodes' InternalIPs, IPv4 first, sorted", () => {
  expect(
    ingressAddresses([
      node("b", true, [{ type: "InternalIP", address: "10.0.0.2" }, { type: "Hostname", address: "b" }]),
      node("a", true, [{ type: "InternalIP", address: "10.0.0.1" }, { type: "InternalIP", address: "fd00::1" }]),
      node("c", false, [{ type: "InternalIP", address: "10.0.0.3" }]),
    ]),
  ).toEqual(["10.0.0.1", "10.0.0.2", "fd00::1"]);
});

test("only Ingresses of a class whose controller is bramble.io/ingress", () => {
  const classes: Record<string, { spec: { controller: string } }> = { bramble: { spec: { controller: "bramble.io/ingress" } }, nginx: { spec: { controller: "k8s.io/ingress-nginx" } } };
  const served = (className?: string) => servedByBramble({ metadata: { name: "i" }, spec: { ingressClassName: className } }, (n) => classes[n] as never);
  expect([served("bramble"), served("nginx"), served(undefined), served("missing")]).toEqual([true, false, false, false]);
});
