import { describe, expect, test } from "bun:test";
import { staleUdpFlows } from "./conntrack";
import { endpointSlice, service } from "./fixtures";
import { renderService } from "./render";

const ctx = { nodeName: "node-a", clusterCidr: "10.42.0.0/16", serviceCidr: "10.43.0.0/16" };
const dns = (type: "ClusterIP" | "NodePort" = "ClusterIP") =>
  service("kube-system", "dns", "10.43.0.10", {
    type,
    externalIPs: ["203.0.113.7"],
    ports: [
      { name: "dns", protocol: "UDP", port: 53, targetPort: 53, ...(type === "NodePort" ? { nodePort: 30053 } : {}) },
      { name: "dns-tcp", protocol: "TCP", port: 53, targetPort: 53, ...(type === "NodePort" ? { nodePort: 30054 } : {}) },
    ],
  });
const eps = (...ips: string[]) => [endpointSlice("kube-system", "dns", ips.map((ip) => ({ ip })), [{ name: "dns", port: 53, protocol: "UDP" }, { name: "dns-tcp", port: 53, protocol: "TCP" }])];

describe("staleUdpFlows", () => {
  test("an endpoint removed: its flows to every Service address and the NodePort (UDP only)", () => {
    const before = renderService(dns("NodePort"), eps("10.42.0.2", "10.42.0.3"), ctx);
    const after = renderService(dns("NodePort"), eps("10.42.0.3"), ctx);
    expect(staleUdpFlows(before, after)).toEqual([
      ["conntrack", "-D", "-p", "udp", "--orig-dst", "10.43.0.10", "--dst-nat", "10.42.0.2"],
      ["conntrack", "-D", "-p", "udp", "--orig-dst", "203.0.113.7", "--dst-nat", "10.42.0.2"],
      ["conntrack", "-D", "-p", "udp", "--orig-port-dst", "30053", "--dst-nat", "10.42.0.2"],
    ]);
  });

  test("the Service deleted: flows to all its endpoints", () => {
    const before = renderService(dns(), eps("10.42.0.2", "10.42.0.3"), ctx);
    expect(staleUdpFlows(before, undefined).map((c) => c.at(-1))).toEqual(["10.42.0.2", "10.42.0.2", "10.42.0.3", "10.42.0.3"]);
  });

  test("first endpoint: flows created while there was none (not DNATed) go", () => {
    const before = renderService(dns(), eps(), ctx);
    const after = renderService(dns(), eps("10.42.0.2"), ctx);
    expect(staleUdpFlows(before, after)).toEqual([
      ["conntrack", "-D", "-p", "udp", "--orig-dst", "10.43.0.10"],
      ["conntrack", "-D", "-p", "udp", "--orig-dst", "203.0.113.7"],
    ]);
    expect(staleUdpFlows(undefined, after).length).toBe(2);
  });

  test("nothing for unchanged endpoints, added endpoints, or TCP", () => {
    const one = renderService(dns(), eps("10.42.0.2"), ctx);
    expect(staleUdpFlows(one, renderService(dns(), eps("10.42.0.2"), ctx))).toEqual([]);
    expect(staleUdpFlows(one, renderService(dns(), eps("10.42.0.2", "10.42.0.4"), ctx))).toEqual([]);
    const web = renderService(service("default", "web", "10.43.0.20"), [endpointSlice("default", "web", [{ ip: "10.42.0.5" }])], ctx);
    expect(staleUdpFlows(web, undefined)).toEqual([]);
  });
});
