import { expect, test } from "bun:test";
import type { ResourceDef } from "../api/resource";
import { configMaps } from "../api/resources/configmap";
import { endpoints } from "../api/resources/endpoints";
import { events } from "../api/resources/event";
import { leases } from "../api/resources/lease";
import { nodes } from "../api/resources/node";
import { pods } from "../api/resources/pod";
import { secrets } from "../api/resources/secret";
import { serviceAccounts } from "../api/resources/serviceaccount";
import { services } from "../api/resources/service";
import * as refs from "./refs";

const defs: Record<keyof typeof refs, ResourceDef<any>> = { nodes, pods, configMaps, secrets, services, endpoints, serviceAccounts, events, leases };

test("every ref names the same place in the API as its ResourceDef", () => {
  for (const [name, def] of Object.entries(defs)) {
    const { group, version, plural, namespaced } = def;
    expect({ name, ...refs[name as keyof typeof refs] }).toEqual({ name, group, version, plural, namespaced });
  }
});
