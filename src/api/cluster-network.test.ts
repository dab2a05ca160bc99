import { expect, test } from "bun:test";
import { clusterNetworkFromData, clusterNetworkToData, DEFAULT_CLUSTER_NETWORK } from "./cluster-network";

test("settings survive the ConfigMap round trip, with everything switched off too", () => {
  const off = { ...DEFAULT_CLUSTER_NETWORK, clusterDomain: "home.lan", podNetwork: "none" as const, serviceProxy: false, clusterDnsServer: false, ingress: false, networkPolicy: false };
  expect(clusterNetworkFromData(clusterNetworkToData(DEFAULT_CLUSTER_NETWORK))).toEqual(DEFAULT_CLUSTER_NETWORK);
  expect(clusterNetworkFromData(clusterNetworkToData(off))).toEqual(off);
  expect(clusterNetworkToData(off)).toMatchObject({ "flannel-backend": "none", "disable-kube-proxy": "true", "disable-network-policy": "true", disable: "coredns,ingress" });
});

test("an older server's missing keys mean the defaults", () => {
  expect(clusterNetworkFromData(undefined)).toEqual(DEFAULT_CLUSTER_NETWORK);
  expect(clusterNetworkFromData({ "cluster-dns": "10.96.0.10" }).clusterDns).toBe("10.96.0.10");
});
