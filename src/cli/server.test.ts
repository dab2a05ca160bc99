import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseFlags } from "./argv";
import { SERVER_FLAGS, serverConfigFromFlags } from "./server";
import type { HostFacts } from "./host";
import { defaultDataDir } from "./host";

const tmp = mkdtempSync(join(tmpdir(), "bramble-flags-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const host: HostFacts = { isRoot: false, homeDir: tmp, ipv4Addresses: ["192.168.1.20", "172.17.0.1"] };
const config = (...args: string[]) => serverConfigFromFlags(parseFlags(args, SERVER_FLAGS), host);

test("defaults follow k3s", () => {
  const cfg = config();
  expect(cfg).toEqual({
    dataDir: join(tmp, ".bramble"),
    bindAddress: "0.0.0.0",
    httpsListenPort: 6443,
    advertiseAddress: "192.168.1.20",
    datastoreEndpoint: `file:${join(tmp, ".bramble", "server", "state.db")}`,
    clusterCidr: "10.42.0.0/16",
    serviceCidr: "10.43.0.0/16",
    serviceNodePortRange: [30000, 32767],
    clusterDns: "10.43.0.10",
    clusterDomain: "cluster.local",
    podNetwork: "host-gw",
    serviceProxy: true,
    networkPolicy: true,
    clusterDnsServer: true,
    serviceLB: true,
    localStorage: true,
    ingress: true,
    dashboard: true,
    writeKubeconfig: undefined,
    disableAgent: false,
    secretsEncryption: false,
    token: undefined,
    schedulerPolicy: "binpack",
    nodeMonitorGracePeriodSeconds: 20,
    notReadyTolerationSeconds: 10,
    snapshots: { cron: "0 */12 * * *", retention: 5, node: hostname().toLowerCase() },
  });
});

test("snapshot flags follow k3s's etcd-snapshot ones", () => {
  expect(config("--snapshot-schedule-cron", "*/5 * * * *", "--snapshot-retention", "2", "--node-name", "pi1").snapshots).toEqual({ cron: "*/5 * * * *", retention: 2, node: "pi1" });
  expect(config("--disable-snapshots").snapshots).toBe(false);
  expect(() => config("--snapshot-retention", "0")).toThrow("--snapshot-retention: must be at least 1");
  expect(() => config("--snapshot-retention", "x")).toThrow("--snapshot-retention:");
  expect(() => config("--snapshot-schedule-cron", "0 */12 * *")).toThrow('--snapshot-schedule-cron: "0 */12 * *" is not a schedule: expected exactly 5 fields, found 4');
  expect(config("--snapshot-schedule-cron", "@daily").snapshots).toMatchObject({ cron: "@daily" });
});

test("networking flags follow k3s and are checked", () => {
  expect(config("--service-cidr", "10.96.0.0/12").clusterDns).toBe("10.96.0.10");
  const off = config("--flannel-backend", "none", "--disable-kube-proxy", "--disable-network-policy", "--disable", "servicelb,coredns,local-storage,ingress,dashboard", "--cluster-domain", "home.lan.");
  expect(off).toMatchObject({ podNetwork: "none", serviceProxy: false, networkPolicy: false, serviceLB: false, localStorage: false, clusterDnsServer: false, ingress: false, dashboard: false, clusterDomain: "home.lan" });
  expect(() => config("--cluster-dns", "10.44.0.10")).toThrow('--cluster-dns: "10.44.0.10" is not inside --service-cidr "10.43.0.0/16"');
  expect(() => config("--cluster-dns", "10.43.0.1")).toThrow("kubernetes Service");
  expect(() => config("--flannel-backend", "vxlan")).toThrow("--flannel-backend");
  expect(config("--default-local-storage-path", "/mnt/ssd/volumes").localStoragePath).toBe("/mnt/ssd/volumes");
  expect(() => config("--default-local-storage-path", "volumes")).toThrow('--default-local-storage-path: "volumes" is not an absolute path');
  expect(() => config("--disable", "traefik")).toThrow('--disable: "traefik" is not a part bramble can leave off (servicelb, coredns, local-storage, ingress, dashboard)');
  expect(() => config("--cluster-domain", "Bad_Domain")).toThrow("--cluster-domain");
});

test("data dir default depends on root", () => {
  expect(defaultDataDir({ ...host, isRoot: true })).toBe("/var/lib/bramble");
  expect(defaultDataDir(host)).toBe(join(tmp, ".bramble"));
});

test("advertise address: explicit, else a specific bind address, else first IPv4, else loopback", () => {
  expect(config("--advertise-address", "10.1.1.1").advertiseAddress).toBe("10.1.1.1");
  expect(config("--bind-address", "127.0.0.1").advertiseAddress).toBe("127.0.0.1");
  expect(serverConfigFromFlags({}, { ...host, ipv4Addresses: [] }).advertiseAddress).toBe("127.0.0.1");
});

test("values are taken verbatim, in both --flag value and --flag=value forms", () => {
  const cfg = config(
    "--data-dir", join(tmp, "d"),
    "--https-listen-port=16443",
    "--token", "0123",
    "--service-node-port-range", "31000-31999",
    "--datastore-endpoint", "memory:",
    "--write-kubeconfig", "relative/kc",
    "--disable-agent",
  );
  expect(cfg.dataDir).toBe(join(tmp, "d"));
  expect(cfg.httpsListenPort).toBe(16443);
  expect(cfg.token).toBe("0123"); // not the number 123
  expect(cfg.serviceNodePortRange).toEqual([31000, 31999]);
  expect(cfg.datastoreEndpoint).toBe("memory:");
  expect(cfg.writeKubeconfig).toBe(resolve("relative/kc")); // absolute, so logs and hints are unambiguous
  expect(cfg.disableAgent).toBe(true);
});

test("the last occurrence of a flag wins, as with Go's flag package", () => {
  expect(config("--https-listen-port", "1", "--https-listen-port", "2").httpsListenPort).toBe(2);
});

test("control loop flags: policy, grace period as a duration, toleration seconds", () => {
  const cfg = config("--scheduler-policy", "spread", "--node-monitor-grace-period", "1m30s", "--default-not-ready-toleration-seconds", "5");
  expect([cfg.schedulerPolicy, cfg.nodeMonitorGracePeriodSeconds, cfg.notReadyTolerationSeconds]).toEqual(["spread", 90, 5]);
  expect(() => config("--scheduler-policy", "random")).toThrow("--scheduler-policy: \"random\" is not one of binpack, spread");
  expect(() => config("--node-monitor-grace-period", "soon")).toThrow("--node-monitor-grace-period");
  expect(() => config("--default-not-ready-toleration-seconds", "-1")).toThrow("--default-not-ready-toleration-seconds");
});

test("the embedded node: --node-name (a DNS-1123 subdomain) and --node-ip", async () => {
  const { embeddedNodeFromFlags } = await import("./server");
  const node = embeddedNodeFromFlags(parseFlags(["--node-name", "pi-1", "--node-ip", "192.168.1.30"], SERVER_FLAGS));
  const { KUBELET_TUNING_DEFAULTS } = await import("./kubelet-flags");
  expect(node).toEqual({ nodeName: "pi-1", nodeIp: "192.168.1.30", ingress: {}, ...KUBELET_TUNING_DEFAULTS });
  expect(embeddedNodeFromFlags(parseFlags(["--ingress-http-port", "8080", "--ingress-https-port", "0"], SERVER_FLAGS)).ingress).toEqual({ httpPort: 8080, httpsPort: 0 });
  expect(() => embeddedNodeFromFlags(parseFlags(["--ingress-http-port", "70000"], SERVER_FLAGS))).toThrow("--ingress-http-port");
  expect(() => embeddedNodeFromFlags(parseFlags(["--node-name", "Pi_1"], SERVER_FLAGS))).toThrow("--node-name");
  expect(() => embeddedNodeFromFlags(parseFlags(["--node-ip", "x"], SERVER_FLAGS))).toThrow("--node-ip");
});

test("--secrets-encryption is a boolean flag", () => {
  expect(config("--secrets-encryption").secretsEncryption).toBe(true);
  expect(config("--secrets-encryption=false").secretsEncryption).toBe(false);
  expect(() => config("--secrets-encryption=maybe")).toThrow("--secrets-encryption");
});
