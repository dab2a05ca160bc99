// dnsFor: what a pod's resolv.conf gets for each dnsPolicy, checked
// against the Kubernetes documentation's "Pod's DNS Policy" section.
import { describe, expect, test } from "bun:test";
import type { Pod } from "../../api/resources/core/pod";
import { dnsFor, resolvConf } from "./spec";

const pod = (spec: Record<string, unknown>, namespace = "shop"): Pod => ({ metadata: { name: "p", namespace }, spec: { containers: [], ...spec } }) as unknown as Pod;

describe("dnsFor", () => {
  test("ClusterFirst (the default): the cluster DNS, the three search domains of the pod's namespace, ndots:5", () => {
    expect(dnsFor(pod({}), "10.43.0.10")).toEqual({
      servers: ["10.43.0.10"],
      searches: ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"],
      options: ["ndots:5"],
    });
  });

  test("another cluster domain", () => {
    expect(dnsFor(pod({ dnsPolicy: "ClusterFirst" }, "default"), "10.43.0.10", "corp.internal")!.searches).toEqual(["default.svc.corp.internal", "svc.corp.internal", "corp.internal"]);
  });

  test("ClusterFirst with dnsConfig: its servers, searches and options come after the cluster's", () => {
    const d = dnsFor(pod({ dnsConfig: { nameservers: ["192.0.2.53"], searches: ["corp.example"], options: [{ name: "ndots", value: "2" }, { name: "edns0" }] } }), "10.43.0.10")!;
    expect(d.servers).toEqual(["10.43.0.10", "192.0.2.53"]);
    expect(d.searches).toEqual(["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"]);
    // resolv.conf options are read in order, the last ndots wins: the pod's own value, as upstream merges it.
    expect(d.options).toEqual(["ndots:5", "ndots:2", "edns0"]);
  });

  test("Default: the node's resolver (nothing set, so Docker copies the node's resolv.conf)", () => {
    expect(dnsFor(pod({ dnsPolicy: "Default" }), "10.43.0.10")).toBeUndefined();
  });

  test("hostNetwork: ClusterFirst falls back to Default; ClusterFirstWithHostNet keeps the cluster DNS", () => {
    expect(dnsFor(pod({ hostNetwork: true }), "10.43.0.10")).toBeUndefined();
    expect(dnsFor(pod({ hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" }), "10.43.0.10")!.servers).toEqual(["10.43.0.10"]);
  });

  test("None: only what dnsConfig says", () => {
    expect(dnsFor(pod({ dnsPolicy: "None", dnsConfig: { nameservers: ["192.0.2.53"], searches: ["a.example"] } }), "10.43.0.10")).toEqual({ servers: ["192.0.2.53"], searches: ["a.example"], options: undefined });
  });

  test("no cluster DNS configured: ClusterFirst behaves as Default", () => {
    expect(dnsFor(pod({}), undefined)).toBeUndefined();
  });
});

describe("resolvConf: the file the kubelet mounts at /etc/resolv.conf", () => {
  test("ClusterFirst: the cluster DNS, the search path and ndots:5, as a resolver reads them", () => {
    expect(resolvConf(pod({}), "10.43.0.10")).toBe("nameserver 10.43.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n");
  });

  test("None with dnsConfig: only what the pod asked for; at most three nameservers, as glibc reads", () => {
    const text = resolvConf(pod({ dnsPolicy: "None", dnsConfig: { nameservers: ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"], searches: ["corp.example"] } }), "10.43.0.10");
    expect(text).toBe("nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\nsearch corp.example\n");
  });

  test("Default and host-network pods keep the node's resolver: no file", () => {
    expect(resolvConf(pod({ dnsPolicy: "Default" }), "10.43.0.10")).toBeUndefined();
    expect(resolvConf(pod({ hostNetwork: true }), "10.43.0.10")).toBeUndefined();
    expect(resolvConf(pod({ hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" }), "10.43.0.10")).toContain("nameserver 10.43.0.10");
  });
});

describe("the pause container's names", () => {
  const o = { image: "pause", network: "bramble", clusterDns: "10.43.0.10", clusterDomain: "cluster.local" };
  test("a pod in a subdomain gets its FQDN (<hostname>.<subdomain>.<ns>.svc.<domain>) in /etc/hosts", async () => {
    const { pauseSpec } = await import("./spec");
    const spec = pauseSpec(pod({ hostname: "web-0", subdomain: "web" }), o, "pause", {});
    expect([spec.hostname, spec.domainname]).toEqual(["web-0", "web.shop.svc.cluster.local"]);
    expect(pauseSpec(pod({}), o, "pause", {}).domainname).toBeUndefined();
    expect(pauseSpec(pod({ hostNetwork: true, subdomain: "web" }), o, "pause", {}).domainname).toBeUndefined();
  });
});
