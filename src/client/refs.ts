// Where the resources an agent reads and writes live in the API, without their schemas. The
// ResourceDefs in src/api/resources carry TypeBox schemas, defaults and validation that only the
// API server needs; importing one loads TypeBox (~200 modules) and every schema it references,
// ~10 MB of RSS in an agent whose whole budget is 60 MB (issue 4). Agents pass these refs to
// KubeClient.resource() and import the object types with `import type`. refs.test.ts checks
// each against its ResourceDef, so they cannot drift apart.
import type { ResourceRef } from "./client";

const core = (plural: string, namespaced: boolean): ResourceRef => ({ group: "", version: "v1", plural, namespaced });

export const nodes = core("nodes", false);
export const pods = core("pods", true);
export const configMaps = core("configmaps", true);
export const secrets = core("secrets", true);
export const services = core("services", true);
export const endpoints = core("endpoints", true);
export const serviceAccounts = core("serviceaccounts", true);
export const events = core("events", true);
export const leases: ResourceRef = { group: "coordination.k8s.io", version: "v1", plural: "leases", namespaced: true };
