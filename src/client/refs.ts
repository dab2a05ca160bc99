// Where the resources an agent reads and writes live in the API, without their schemas: rows of
// the kind table (src/api/kinds.ts). The ResourceDefs in src/api/resources carry TypeBox schemas,
// defaults and validation that only the API server needs; importing one loads TypeBox (~200
// modules) and every schema it references, ~10 MB of RSS in an agent whose whole budget is 60 MB.
// Agents pass these refs to KubeClient.resource() and import the object types with `import type`.
import { KINDS } from "../api/kinds";

export const { nodes, pods, configMaps, secrets, services, endpoints, endpointSlices, serviceAccounts, events, leases } = KINDS;
