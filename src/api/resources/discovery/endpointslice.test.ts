import { describe, expect, test } from "bun:test";
import { endpointSlices, type EndpointSlice } from "./endpointslice";

const slice = (over: Partial<EndpointSlice> = {}): EndpointSlice =>
  ({ metadata: { name: "web-abc", namespace: "default" }, addressType: "IPv4", endpoints: [{ addresses: ["10.42.0.5"] }], ports: [{ name: "http", port: 80, protocol: "TCP" }], ...over }) as EndpointSlice;
const errors = (s: EndpointSlice, old?: EndpointSlice) => [...endpointSlices.validate(s, old), ...(old ? endpointSlices.immutable!(s, old) : [])].map((e) => `${e.field}: ${e.message}`);

describe("EndpointSlice", () => {
  test("defaults: an unnamed port is named \"\", protocol TCP; deprecatedTopology is dropped", () => {
    const s = slice({ ports: [{ port: 80 }], endpoints: [{ addresses: ["10.42.0.5"], deprecatedTopology: { a: "b" } }] });
    endpointSlices.defaults(s);
    expect(s.ports).toEqual([{ port: 80, name: "", protocol: "TCP" }]);
    expect(s.endpoints![0]).toEqual({ addresses: ["10.42.0.5"] });
  });

  test("a valid slice, and every address type", () => {
    expect(errors(slice())).toEqual([]);
    expect(errors(slice({ addressType: "IPv6", endpoints: [{ addresses: ["fd00::5"] }] }))).toEqual([]);
    expect(errors(slice({ addressType: "FQDN", endpoints: [{ addresses: ["db.example.com"] }] }))).toEqual([]);
    expect(errors(slice({ endpoints: undefined, ports: undefined }))).toEqual([]);
  });

  test("address type and addresses, as upstream's ValidateEndpointSlice words them", () => {
    expect(errors(slice({ addressType: undefined }))).toEqual(["addressType: Required value"]);
    expect(errors(slice({ addressType: "IP" }))).toEqual(['addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"']);
    expect(errors(slice({ endpoints: [{ addresses: [] }] }))).toEqual(["endpoints[0].addresses: Required value: must contain at least 1 address"]);
    expect(errors(slice({ endpoints: [{ addresses: ["fd00::1"] }] }))).toEqual(['endpoints[0].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address']);
    expect(errors(slice({ endpoints: [{ addresses: ["127.0.0.1"] }] }))).toEqual(['endpoints[0].addresses[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)']);
    expect(errors(slice({ addressType: "FQDN", endpoints: [{ addresses: ["localhost"] }] }))).toEqual([
      'endpoints[0].addresses[0]: Invalid value: "localhost": should be a domain with at least two segments separated by dots',
    ]);
    expect(errors(slice({ endpoints: [{ addresses: ["10.0.0.1"], hostname: "Bad_Host", nodeName: "n..1", hints: { forZones: [{ name: "a" }, { name: "a" }] } }] })).map((e) => e.split(":")[0])).toEqual([
      "endpoints[0].nodeName",
      "endpoints[0].hostname",
      "endpoints[0].hints.forZones[1].name",
    ]);
  });

  test("limits: 1000 endpoints, 100 addresses each", () => {
    const many = Array.from({ length: 1001 }, () => ({ addresses: ["10.0.0.1"] }));
    expect(errors(slice({ endpoints: many }))).toEqual(["endpoints: Too many: 1001: must have at most 1000 items"]);
    const addrs = Array.from({ length: 101 }, (_, i) => `10.1.0.${i + 1}`);
    expect(errors(slice({ endpoints: [{ addresses: addrs }] }))).toEqual(["endpoints[0].addresses: Too many: 101: must have at most 100 items"]);
  });

  test("ports: unique names, DNS labels, known protocols, qualified appProtocol", () => {
    expect(
      errors(
        slice({
          ports: [
            { name: "http", port: 80, protocol: "TCP" },
            { name: "http", port: 81, protocol: "TCP" },
            { name: "Bad", port: 82, protocol: "ICMP" },
            { name: "x", port: 83, appProtocol: "a/b/c" },
          ],
        }),
      ).map((e) => e.split(":").slice(0, 2).join(":")),
    ).toEqual(["ports[1].name: Duplicate value", "ports[2].name: Invalid value", "ports[2].protocol: Unsupported value", "ports[3].protocol: Required value", "ports[3].appProtocol: Invalid value"]);
  });

  test("the address type is immutable", () => {
    expect(errors(slice({ addressType: "IPv6", endpoints: [] }), slice())).toEqual(['addressType: Invalid value: "IPv6": field is immutable']);
  });

  test("table: NAME ADDRESSTYPE PORTS ENDPOINTS AGE, three of each then \"+ N more...\", <unset> when empty", () => {
    expect(endpointSlices.table.columns.map((c) => c.name)).toEqual(["Name", "AddressType", "Ports", "Endpoints", "Age"]);
    const now = new Date("2026-01-01T00:10:00Z");
    const s = slice({
      metadata: { name: "web-abc", creationTimestamp: "2026-01-01T00:00:00Z" },
      ports: [{ name: "a", port: 80 }, { name: "b", port: 81 }, { name: "c", port: 82 }, { name: "d", port: 83 }],
      endpoints: [{ addresses: ["10.0.0.1"] }, { addresses: ["10.0.0.2"] }],
    });
    expect(endpointSlices.table.row(s, now)).toEqual(["web-abc", "IPv4", "80,81,82 + 1 more...", "10.0.0.1,10.0.0.2", "10m"]);
    expect(endpointSlices.table.row(slice({ metadata: { name: "p", creationTimestamp: "2026-01-01T00:00:00Z" }, ports: [], endpoints: [] }), now).slice(2, 4)).toEqual(["<unset>", "<unset>"]);
  });
});
