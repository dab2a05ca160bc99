import { expect, test } from "bun:test";
import { resources } from "../../../api/registry";
import type { Ingress } from "../../../api/resources/networking/ingress";
import type { IngressClass } from "../../../api/resources/networking/ingressclass";
import { DefaultIngressClassAdmission, defaultIngressClass } from "./ingressclass";

const def = resources.find((r) => r.plural === "ingresses")!;
const cls = (name: string, isDefault: boolean, created: string): IngressClass => ({
  metadata: { name, creationTimestamp: created, annotations: isDefault ? { "ingressclass.kubernetes.io/is-default-class": "true" } : {} },
  spec: { controller: "example.com/x" },
});
const ing = (spec: Ingress["spec"] = {}, annotations?: Record<string, string>): Ingress => ({ metadata: { name: "a", namespace: "default", annotations }, spec });

test("an Ingress without a class gets the default one at create, and only then", () => {
  const plugin = new DefaultIngressClassAdmission(() => [cls("other", false, "2026-01-01T00:00:00Z"), cls("bramble", true, "2026-01-01T00:00:00Z")]);
  const a = ing();
  plugin.admit("create", def, a);
  expect(a.spec?.ingressClassName).toBe("bramble");
  const b = ing({ ingressClassName: "other" });
  plugin.admit("create", def, b);
  expect(b.spec?.ingressClassName).toBe("other");
  const c = ing({}, { "kubernetes.io/ingress.class": "nginx" });
  plugin.admit("create", def, c);
  expect(c.spec?.ingressClassName).toBeUndefined();
  const d = ing();
  plugin.admit("update", def, d);
  expect(d.spec?.ingressClassName).toBeUndefined();
});

test("no default class leaves the Ingress classless; with several the newest wins", () => {
  const none = ing();
  new DefaultIngressClassAdmission(() => [cls("x", false, "2026-01-01T00:00:00Z")]).admit("create", def, none);
  expect(none.spec?.ingressClassName).toBeUndefined();
  expect(defaultIngressClass([cls("old", true, "2026-01-01T00:00:00Z"), cls("new", true, "2026-02-01T00:00:00Z")])?.metadata.name).toBe("new");
});
