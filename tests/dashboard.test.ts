// The web dashboard in a real browser (headless Chromium over the DevTools protocol) against a
// real `bramble server` with one simulated node: it logs in with the admin kubeconfig pasted,
// draws the node as a bin filled by its pods' requests, follows a Deployment's scale-up live
// through its watches, and refuses a bad token. Screenshots go to a temp dir (printed).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingCommand, requirements } from "../src/machinery/test-requirements";
import { launchChromium, type Page } from "./helpers/chromium";
import { eventually } from "./helpers/eventually";
import { startSimNodes, type SimNodes } from "./helpers/sim";
import { startTestServer, type TestServer } from "./helpers/server";

const skip = requirements("dashboard browser tests", missingCommand("chromium", "apt-get install chromium"), missingCommand("kubectl"));
const SHOTS = mkdtempSync(join(tmpdir(), "bramble-dashboard-shots-"));
let server: TestServer;
let sim: SimNodes | undefined;
let page: Page;

const kubectl = async (stdin: string | undefined, ...args: string[]) => {
  const r = stdin === undefined ? await server.kubectl(...args) : await server.kubectlWith({ stdin }, ...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

const deployment = (name: string, replicas: number, cpu: string, memory: string) =>
  JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: "nginx:1.27", resources: { requests: { cpu, memory } } }] } },
    },
  });

/** The node's bin as the page draws it: per pod, the CPU and memory segments' widths in percent. */
const BIN = (node: string) => `(() => {
  const bin = document.querySelector('[data-node="${node}"]');
  if (!bin) return null;
  const segs = (res) => Object.fromEntries([...bin.querySelectorAll('[data-resource="' + res + '"] .seg')].map((s) => [s.dataset.pod, Number(s.dataset.width)]));
  const usage = (res) => { const u = bin.querySelector('[data-resource="' + res + '"] .usage'); return u ? parseFloat(u.style.width) : null; };
  return { pods: Number(bin.dataset.pods), cpu: segs("cpu"), mem: segs("mem"), usage: { cpu: usage("cpu"), mem: usage("mem") }, label: bin.innerText };
})()`;

describe.skipIf(!!skip)("the web dashboard", () => {
  beforeAll(async () => {
    server = await startTestServer({ args: ["--disable-agent"] });
    sim = startSimNodes(server, 1, "--cpu", "4", "--memory", "8Gi");
    await kubectl(deployment("web", 2, "500m", "1Gi"), "apply", "-f", "-");
    await kubectl(deployment("db", 1, "1", "2Gi"), "apply", "-f", "-");
    await eventually("3 pods Running on sim-0", async () => {
      const out = await kubectl(undefined, "get", "pods", "-o", "jsonpath={range .items[*]}{.spec.nodeName}/{.status.phase} {end}");
      return out.trim().split(" ").filter((s) => s === "sim-0/Running").length === 3;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    page = await launchChromium();
    console.log(`dashboard screenshots: ${SHOTS}`);
  }, 60_000);

  afterAll(async () => {
    await page?.close();
    await sim?.kill();
    await server?.cleanup();
  });

  test("the page is public and framed by nobody; the API behind it is not", async () => {
    const page = await fetch(`${server.url}/dashboard/`, { tls: { ca: server.ca() } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    const api = await fetch(`${server.url}/api/v1/pods`, { tls: { ca: server.ca() } });
    expect(api.status).toBe(401);
  });

  test("logging in with a pasted kubeconfig shows the node as a bin filled by its pods' requests, usage over them", async () => {
    await page.viewport(1280, 900);
    // A simulated node reports no usage: the browser gets metrics.k8s.io answers made up here
    // (the node uses 1 CPU and 2Gi, each pod 100m and 64Mi).
    await page.intercept("*/apis/metrics.k8s.io/*", async (url) => {
      if (url.endsWith("/nodes")) return { kind: "NodeMetricsList", apiVersion: "metrics.k8s.io/v1beta1", metadata: {}, items: [{ metadata: { name: "sim-0" }, timestamp: new Date().toISOString(), window: "20s", usage: { cpu: "1", memory: "2Gi" } }] };
      const pods = (await (await server.fetch("/api/v1/pods")).json()) as { items: { metadata: { name: string; namespace: string } }[] };
      return { kind: "PodMetricsList", apiVersion: "metrics.k8s.io/v1beta1", metadata: {}, items: pods.items.map((p) => ({ metadata: { name: p.metadata.name, namespace: p.metadata.namespace }, containers: [{ name: "c", usage: { cpu: "100m", memory: "64Mi" } }] })) };
    });
    await page.navigate(`${server.url}/dashboard/`);
    const kubeconfig = readFileSync(server.kubeconfig, "utf8");
    await page.evaluate(`(() => { document.querySelector("#token").value = ${JSON.stringify(kubeconfig)}; document.querySelector("#login button[type=submit]").click(); })()`);
    await page.waitFor("logged in", `document.querySelector("#who").textContent.includes("system:admin")`);
    // allocatable 4 CPUs and 8Gi: each web pod is 12.5% of both, db 25% of both, largest first.
    const bin = await page.waitFor<any>("sim-0 with 3 pods", `(() => { const b = ${BIN("sim-0")}; return b && b.pods === 3 && b.usage.cpu !== null && b; })()`);
    const widths = (res: "cpu" | "mem") => Object.entries(bin[res] as Record<string, number>).map(([pod, w]) => [pod.replace(/-[a-z0-9]+-[a-z0-9]+$/, ""), w]).sort();
    expect(widths("cpu")).toEqual([["default/db", 25], ["default/web", 12.5], ["default/web", 12.5]]);
    expect(widths("mem")).toEqual([["default/db", 25], ["default/web", 12.5], ["default/web", 12.5]]);
    expect(bin.label).toContain("CPU: 2 of 4 requested (50%) · used 1");
    expect(bin.label).toContain("Memory: 4Gi of 8Gi requested (50%) · used 2Gi");
    expect(bin.usage).toEqual({ cpu: 25, mem: 25 });
    await page.waitFor("the db pod's usage", `document.querySelector('#pods tbody tr[data-pod^="default/db-"]').innerText.includes("100m\t64Mi")`);
    const workloads = await page.waitFor<string[]>("both Deployments ready", `(() => { const rows = [...document.querySelectorAll("#workloads tbody tr")].map((r) => r.dataset.workload + " " + r.dataset.ready + "/" + r.dataset.desired + " " + r.dataset.state); return rows.length === 2 && rows.every((r) => r.endsWith("ready")) && rows; })()`);
    expect(workloads).toEqual(["Deployment/default/db 1/1 ready", "Deployment/default/web 2/2 ready"]);
    await page.screenshot(join(SHOTS, "nodes.png"));
  }, 30_000);

  test("a pod's row opens its events", async () => {
    await page.evaluate(`document.querySelector('#pods tbody tr[data-pod^="default/db-"]').click()`);
    const events = await page.waitFor<string>("the db pod's events", `(() => { const t = document.querySelector("#detail-events").innerText; return t.includes("Scheduled") && t; })()`);
    expect(events).toContain("to sim-0");
    // A simulated node has no kubelet to read logs from: the page shows the API server's answer.
    const log = await page.waitFor<string>("the log tail's answer", `(() => { const t = document.querySelector("#detail-log").textContent; return t !== "loading…" && t; })()`);
    expect(log).toContain("logs of pod db-");
    await page.evaluate(`document.querySelector("#detail-close").click()`);
  }, 20_000);

  test("a scale-up shows up live: new pods in the bin and the list, no reload", async () => {
    await page.evaluate(`window.notReloaded = true`);
    await kubectl(undefined, "scale", "deployment", "web", "--replicas=4");
    const bin = await page.waitFor<any>("sim-0 with 5 pods", `(() => { const b = ${BIN("sim-0")}; return b && b.pods === 5 && b; })()`, 30_000);
    expect(Object.values(bin.cpu as Record<string, number>).sort()).toEqual([12.5, 12.5, 12.5, 12.5, 25]);
    expect(bin.label).toContain("CPU: 3 of 4 requested (75%)");
    await page.waitFor("4 web pods Running in the list", `[...document.querySelectorAll('#pods tbody tr[data-pod^="default/web-"]')].filter((r) => r.dataset.status === "Running").length === 4`, 30_000);
    await page.waitFor("web 4/4", `document.querySelector('[data-workload="Deployment/default/web"]')?.dataset.ready === "4"`, 30_000);
    expect(await page.evaluate<boolean>("window.notReloaded")).toBe(true);
    await page.screenshot(join(SHOTS, "scaled.png"));
  }, 45_000);

  test("on a phone-sized screen nothing overflows sideways", async () => {
    await page.viewport(390, 844, true);
    await Bun.sleep(200);
    const { scroll, width } = await page.evaluate<{ scroll: number; width: number }>(`({ scroll: document.documentElement.scrollWidth, width: window.innerWidth })`);
    expect(scroll).toBeLessThanOrEqual(width);
    await page.screenshot(join(SHOTS, "phone.png"));
    await page.viewport(1280, 900);
  });

  test("a token RBAC limits to one namespace sees what it may: no nodes, that namespace's pods", async () => {
    await kubectl(undefined, "create", "serviceaccount", "viewer");
    await kubectl(undefined, "create", "rolebinding", "viewer", "--clusterrole=view", "--serviceaccount=default:viewer");
    const token = (await kubectl(undefined, "create", "token", "viewer")).trim();
    await page.evaluate(`document.querySelector("#logout").click()`);
    await page.evaluate(`(() => { document.querySelector("#token").value = ${JSON.stringify(token)}; document.querySelector("#login button[type=submit]").click(); })()`);
    await page.waitFor("logged in as the service account", `document.querySelector("#who").textContent.includes("system:serviceaccount:default:viewer")`);
    const nodesError = await page.waitFor<string>("nodes forbidden", `(() => { const e = document.querySelector("#nodes .error"); return !e.hidden && e.textContent; })()`);
    expect(nodesError).toContain('cannot list resource "nodes"');
    const podsError = await page.waitFor<string>("pods forbidden cluster-wide", `(() => { const e = document.querySelector("#pods .error"); return !e.hidden && e.textContent; })()`);
    expect(podsError).toContain("choose a namespace");
    await page.evaluate(`(() => { const i = document.querySelector("#namespace"); i.value = "default"; i.dispatchEvent(new Event("change")); })()`);
    await page.waitFor("the 5 pods of default", `document.querySelectorAll('#pods tbody tr').length === 5 && document.querySelector("#pods .error").hidden`);
    await page.waitFor("web in the workloads", `document.querySelector('[data-workload="Deployment/default/web"]')?.dataset.ready === "4"`);
    expect(await page.evaluate<number>(`document.querySelectorAll(".node").length`)).toBe(0);
  }, 30_000);

  test("a bad token is refused with a clear Unauthorized", async () => {
    await page.evaluate(`document.querySelector("#logout").click()`);
    await page.evaluate(`(() => { document.querySelector("#token").value = "not-a-token"; document.querySelector("#login button[type=submit]").click(); })()`);
    const msg = await page.waitFor<string>("the login error", `(() => { const e = document.querySelector("#login-error"); return !e.hidden && e.textContent; })()`);
    expect(msg).toStartWith("Unauthorized");
    expect(await page.evaluate<boolean>(`document.querySelector("#views").hidden && sessionStorage.getItem("bramble-dashboard-token") === null`)).toBe(true);
    await page.screenshot(join(SHOTS, "unauthorized.png"));
  });
});
