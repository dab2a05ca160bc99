// Pods really get their IPs from the node's podCIDR: startPodNetwork (host commands go to a fake
// host, so the shared machine's routes and iptables stay untouched) makes the Docker network on
// the real engine, the real kubelet puts a pod on it, and after the agent's parts restart the
// pod keeps its sandbox and its IP (adoption). A test-only cluster range, network and bridge.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodes as nodesDef, type Node } from "../../api/resources/core/node";
import type { Pod } from "../../api/resources/core/pod";
import { pods as podsDef } from "../../api/resources/core/pod";
import { parseCidr, cidrContains } from "../../machinery/cidr";
import { createLogger } from "../../machinery/log";
import { DEFAULT_CLUSTER_NETWORK } from "../cluster-network";
import { TEST_IMAGE, ensureTestImage } from "../images/testimage";
import { startKubelet, type Kubelet } from "../kubelet/kubelet";
import { NODE_LABEL } from "../kubelet/names";
import { eventually, startHttpTestApi, type HttpTestApi } from "../node/testing";
import { dockerForTests, removeImageIfUnused } from "../runtime/docker/testing";
import { FakeHost } from "./fake-host";
import { startPodNetwork, type PodNetwork } from "./pod-network";

const CLUSTER_CIDR = "172.30.220.0/22";
const suffix = Math.floor(Math.random() * 0xffff).toString(16);
const NODE = `bpn-node-${suffix}`;
const NETWORK = `bpn-pods-${suffix}`;
const log = createLogger("test", { level: "warn" });

const rt = await dockerForTests("pod IPs from the podCIDR");
let api: HttpTestApi;
let dataDir = "";
let net: PodNetwork | undefined;
let kubelet: Kubelet | undefined;
const host = new FakeHost();

const startParts = async () => {
  net = await startPodNetwork({ client: api.client, runtime: rt!, nodeName: NODE, nodeIp: "127.0.0.1", cluster: { ...DEFAULT_CLUSTER_NETWORK, clusterCidr: CLUSTER_CIDR }, run: host.run, log, dockerNetwork: NETWORK, bridge: `bpn-br-${suffix}` });
  kubelet = await startKubelet(api.client, rt!, { nodeName: NODE, clusterId: `sha256:${"e".repeat(64)}`, dataDir, apiServerHost: "10.43.0.1", apiServerPort: 443, caCertPem: "CA", nodeIP: "127.0.0.1", podNetwork: net.dockerNetwork, relistIntervalMs: 300 });
};
const stopParts = async () => {
  await kubelet?.stop();
  await net?.stop();
};
const podApi = () => api.client.resource<Pod>(podsDef);

describe.skipIf(!rt)("pods on the pod network (real Docker, real kubelet)", () => {
  beforeAll(async () => {
    await ensureTestImage(rt!);
    dataDir = mkdtempSync(join(tmpdir(), "bpn-kubelet-"));
    api = await startHttpTestApi({ clusterCidr: CLUSTER_CIDR });
    await api.client.resource<Node>(nodesDef).create(undefined, { metadata: { name: NODE } } as Node);
    await startParts();
  }, 30_000);

  afterAll(async () => {
    await stopParts();
    for (const c of await rt!.listContainers({ [NODE_LABEL]: NODE })) await rt!.removeContainer(c.id);
    await rt!.removeNetwork(NETWORK, { force: true });
    await api?.stop();
    await removeImageIfUnused(rt!, TEST_IMAGE);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  let firstIp = "";
  let sandbox = "";

  test("a pod's IP comes from the node's podCIDR", async () => {
    expect(net!.podCidr).toBe("172.30.220.0/24");
    await podApi().create("default", { metadata: { name: "p" }, spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sleep", "1000"] }] } } as Pod);
    const pod = await eventually(async () => {
      const p = await podApi().get("default", "p");
      return p.status?.phase === "Running" && p.status.podIP ? p : undefined;
    }, 20_000, "pod p running with an IP");
    firstIp = pod.status!.podIP!;
    expect(cidrContains(parseCidr(net!.podCidr), firstIp)).toBe(true);
    expect(firstIp).not.toBe(net!.gateway);
    sandbox = (await rt!.listContainers({ [NODE_LABEL]: NODE })).find((c) => c.ips[NETWORK])!.id;
  }, 30_000);

  test("after the pod network and the kubelet restart, the pod keeps its sandbox and its IP", async () => {
    expect(firstIp).not.toBe(""); // the first test ran
    await stopParts();
    await startParts();
    await Bun.sleep(1_000); // a few relists: time for a wrong restart to show
    const p = await podApi().get("default", "p");
    expect(p.status!.podIP).toBe(firstIp);
    const info = await rt!.inspectContainer(sandbox);
    expect(info.state).toBe("running");
    expect(info.ips[NETWORK]).toBe(firstIp);
    expect((await rt!.inspectNetwork(NETWORK))!.containers).toContain(sandbox);
  }, 30_000);
});
