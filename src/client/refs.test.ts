import { expect, test } from "bun:test";
import type { ResourceDef } from "../api/resource";
import { configMaps } from "../api/resources/core/configmap";
import { endpoints } from "../api/resources/core/endpoints";
import { endpointSlices } from "../api/resources/discovery/endpointslice";
import { events } from "../api/resources/core/event";
import { leases } from "../api/resources/coordination/lease";
import { nodes } from "../api/resources/core/node";
import { pods } from "../api/resources/core/pod";
import { secrets } from "../api/resources/core/secret";
import { serviceAccounts } from "../api/resources/core/serviceaccount";
import { services } from "../api/resources/core/service";
import * as refs from "./refs";

const defs: Record<keyof typeof refs, ResourceDef<any>> = { nodes, pods, configMaps, secrets, services, endpoints, endpointSlices, serviceAccounts, events, leases };

test("every ref names the same place in the API as its ResourceDef", () => {
  for (const [name, def] of Object.entries(defs)) {
    const { group, version, plural, namespaced } = def;
    const ref = refs[name as keyof typeof refs];
    expect({ name, group: ref.group, version: ref.version, plural: ref.plural, namespaced: ref.namespaced }).toEqual({ name, group, version, plural, namespaced });
  }
});
