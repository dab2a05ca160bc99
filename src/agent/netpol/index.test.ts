import { afterAll, beforeAll, expect, test } from "bun:test";
import { startHttpTestApi, type HttpTestApi } from "../../server/apiserver/testing";
import { createLogger } from "../../machinery/log";
import type { CommandRunner } from "../host/run";
import { NWPLCY, podFwChain } from "./chains";
import { ensureForwardJump, startNetworkPolicy, type NetworkPolicyEnforcer } from "./index";

let api: HttpTestApi;
let enforcer: NetworkPolicyEnforcer;
const restores: string[] = [];
let forward = "-P FORWARD ACCEPT\n";
const run: CommandRunner = async (argv, stdin) => {
  if (argv[0] === "iptables-restore") restores.push(stdin ?? "");
  if (argv.includes("-S")) return { code: 0, stdout: forward, stderr: "" };
  if (argv.includes("-I")) forward = `-P FORWARD ACCEPT\n-A FORWARD -m comment --comment "bramble network policies" -j ${NWPLCY}\n`;
  return { code: 0, stdout: "", stderr: "" };
};

const call = async (method: string, path: string, body?: unknown) => {
  const r = await api.t.call(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as any;
};
const createPod = async (name: string, node: string, ip: string, labels: Record<string, string>) => {
  const pod = await call("POST", "/api/v1/namespaces/default/pods", { metadata: { name, labels }, spec: { nodeName: node, containers: [{ name: "c", image: "i" }] } });
  await call("PUT", `/api/v1/namespaces/default/pods/${name}/status`, { ...pod, status: { phase: "Running", podIP: ip } });
};
/** Waits for the n-th restore (the watch delivers changes asynchronously), then for the loop to go idle. */
const restoresReach = async (n: number) => {
  while (restores.length < n) await Bun.sleep(20);
  await enforcer.idle();
};

beforeAll(async () => {
  api = await startHttpTestApi();
  await createPod("web", "n1", "10.42.0.5", { app: "web" });
  await createPod("far", "n2", "10.42.1.5", { app: "far" });
  enforcer = await startNetworkPolicy({ client: api.client, nodeName: "n1", run, log: createLogger("netpol", { level: "error" }) });
});
afterAll(async () => {
  await enforcer?.stop();
  await api?.stop();
});

test("one restore per change that alters the rules; deleting a policy deletes its chains", async () => {
  expect(restores.length).toBe(1);
  expect(forward).toContain(`-j ${NWPLCY}`);
  await call("POST", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies", { metadata: { name: "deny" }, spec: { podSelector: { matchLabels: { app: "web" } } } });
  await restoresReach(2);
  expect(restores.length).toBe(2);
  const fw = podFwChain("default/web", "ingress");
  expect(restores[1]).toContain(`-A ${NWPLCY} -d 10.42.0.5/32`);
  // A pod on another node that no rule names: nothing to write (the next restore is the policy's).
  const far = await call("GET", "/api/v1/namespaces/default/pods/far");
  await call("PUT", "/api/v1/namespaces/default/pods/far", { ...far, metadata: { ...far.metadata, labels: { app: "far", v: "2" } } });
  // The same pod becoming a peer changes the rules.
  await call("PUT", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/deny", {
    ...(await call("GET", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/deny")),
    spec: { podSelector: { matchLabels: { app: "web" } }, ingress: [{ from: [{ podSelector: { matchLabels: { v: "2" } } }] }] },
  });
  await restoresReach(3);
  expect(restores.length).toBe(3);
  expect(restores[2]).toContain("-s 10.42.1.5/32");
  await call("DELETE", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/deny");
  await restoresReach(4);
  expect(restores.length).toBe(4);
  expect(restores[3]).toContain(`-X ${fw}`);
});

test("the FORWARD jump is moved first when something got ahead of it", async () => {
  const cmds: string[][] = [];
  let saved = `-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n-A FORWARD -m comment --comment "bramble network policies" -j ${NWPLCY}\n`;
  const r: CommandRunner = async (argv) => {
    cmds.push(argv);
    return { code: 0, stdout: argv.includes("-S") ? saved : "", stderr: "" };
  };
  expect(await ensureForwardJump(r)).toBe(true);
  expect(cmds.slice(1).map((c) => c.slice(3, 7).join(" "))).toEqual(["-t filter -D FORWARD", "-t filter -I FORWARD"]);
  saved = `-P FORWARD DROP\n-A FORWARD -m comment --comment "bramble network policies" -j ${NWPLCY}\n-A FORWARD -j DOCKER-USER\n`;
  cmds.length = 0;
  expect(await ensureForwardJump(r)).toBe(false);
  expect(cmds.length).toBe(1);
});
