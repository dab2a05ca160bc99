// The real kubectl (1.32) against a real `bramble server` process, with default flags: apply
// (client-side, strategic merge), tables, watch, selectors, scale, patch, cascading delete, diff,
// server dry-run, namespace lifecycle, error messages, and state surviving SIGTERM and kill -9.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseJson, startTestServer, type TestServer } from "./helpers/server";

setDefaultTimeout(60_000);

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
}, 60_000);
afterAll(async () => {
  await s?.cleanup();
});

/** kubectl that must succeed; returns stdout. */
async function k(...args: string[]): Promise<string> {
  const r = await s.kubectl(...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}
const kjson = async (...args: string[]) => parseJson(await s.kubectl(...args, "-o", "json"));
const apply = (manifest: string, ...args: string[]) => s.kubectlWith({ stdin: manifest }, "apply", "-f", "-", ...args);
async function applyOk(manifest: string, ...args: string[]): Promise<string> {
  const r = await apply(manifest, ...args);
  if (r.code !== 0) throw new Error(`kubectl apply failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** Column headers of a kubectl table (columns are separated by at least two spaces). */
const headers = (table: string) => table.split("\n")[0]!.trim().split(/\s{2,}/);
/** Rows of a kubectl table as column → value. */
function rows(table: string): Record<string, string>[] {
  const lines = table.split("\n").filter((l) => l.trim());
  const head = lines[0]!;
  const names = headers(head);
  const starts: number[] = [];
  for (const n of names) starts.push(head.indexOf(n, starts.length ? starts[starts.length - 1]! + 1 : 0));
  return lines.slice(1).map((line) => Object.fromEntries(names.map((n, i) => [n, line.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : undefined).trim()])));
}

/** Polls until `cond` holds (the server has no controllers: only garbage collection is asynchronous). */
async function eventually(what: string, cond: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}
const exists = async (...args: string[]) => {
  const r = await s.kubectl("get", ...args, "-o", "name");
  if (r.code !== 0 && !r.stderr.includes("NotFound")) throw new Error(`kubectl get ${args.join(" ")}: ${r.stderr}`);
  return r.code === 0;
};

const WEB_V1 = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  labels: {app: web, tier: a}
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: a, team: blue}
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        ports:
        - {name: http, containerPort: 80}
        - {name: metrics, containerPort: 9090}
        env:
        - {name: A, value: "1"}
        - {name: B, value: "2"}
        - {name: C, value: "3"}
      - name: sidecar
        image: busybox:1.36
        env:
        - {name: S, value: "s"}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  labels: {app: web, tier: b}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 80}
  - {name: metrics, port: 9090, targetPort: 9090}
`;

// B changes value, D is added, the http port moves to 8080 (in the Deployment and the Service),
// and the Deployment loses its `team` label.
const WEB_V2 = WEB_V1.replace("{app: web, tier: a, team: blue}", "{app: web, tier: a}")
  .replace('{name: B, value: "2"}', '{name: B, value: "22"}')
  .replace('{name: C, value: "3"}', '{name: C, value: "3"}\n        - {name: D, value: "4"}')
  .replace("{name: http, containerPort: 80}", "{name: http, containerPort: 8080}")
  .replace("{name: http, port: 80, targetPort: 80}", "{name: http, port: 80, targetPort: 8080}");

const rvOf = async (...what: string[]) => (await k("get", ...what, "-o", "jsonpath={.metadata.resourceVersion}")).trim();
/** An object as its writers left it: the Deployment controller's status writes taken out. */
async function specOf(...what: string[]) {
  const o = await kjson("get", ...what);
  delete o.status;
  delete o.metadata.resourceVersion;
  return o;
}
/** Gives the Deployment controller a moment to finish reacting to the last spec change. */
async function settled(name: string) {
  const deadline = Date.now() + 10_000;
  let last = "";
  while (Date.now() < deadline) {
    const d = await kjson("get", "deploy", name);
    const now = d.metadata.resourceVersion;
    if (d.status?.observedGeneration === d.metadata.generation && now === last) return;
    last = now;
    await Bun.sleep(200);
  }
}

describe("kubectl apply", () => {
  test("creates, then reports unchanged without writing, then patches lists element by element", async () => {
    expect(WEB_V2).not.toBe(WEB_V1);
    const created = await applyOk(WEB_V1);
    expect(created).toContain("configmap/web-config created");
    expect(created).toContain("deployment.apps/web created");
    expect(created).toContain("service/web created");
    await settled("web");
    const before = { cm: await rvOf("cm", "web-config"), deploy: await rvOf("deploy", "web"), svc: await rvOf("svc", "web") };
    const deploySpec = await specOf("deploy", "web");

    const again = await applyOk(WEB_V1);
    expect(again).toContain("configmap/web-config unchanged");
    expect(again).toContain("deployment.apps/web unchanged");
    expect(again).toContain("service/web unchanged");
    // No controller writes ConfigMaps or Services: their resourceVersions stay exactly. The
    // Deployment's status is the controller's to write, so its spec and metadata must stay.
    expect({ cm: await rvOf("cm", "web-config"), svc: await rvOf("svc", "web") }).toEqual({ cm: before.cm, svc: before.svc });
    expect(await specOf("deploy", "web")).toEqual(deploySpec);

    // Something only the server knows (a label added out of band) must survive the next apply.
    await k("label", "deploy", "web", "added-by=hand");
    const changed = await applyOk(WEB_V2);
    expect(changed).toContain("configmap/web-config unchanged");
    expect(changed).toContain("deployment.apps/web configured");
    expect(changed).toContain("service/web configured");

    const d = await kjson("get", "deploy", "web");
    expect(d.metadata.labels).toEqual({ app: "web", tier: "a", "added-by": "hand" });
    expect(Number(d.metadata.resourceVersion)).toBeGreaterThan(Number(before.deploy));
    const [app, sidecar] = d.spec.template.spec.containers;
    expect(app.name).toBe("app");
    expect(app.env).toEqual([
      { name: "A", value: "1" },
      { name: "B", value: "22" },
      { name: "C", value: "3" },
      { name: "D", value: "4" },
    ]);
    // Merged by containerPort: the 9090 entry is untouched, defaults (protocol) filled in.
    expect(app.ports).toEqual([
      { name: "http", containerPort: 8080, protocol: "TCP" },
      { name: "metrics", containerPort: 9090, protocol: "TCP" },
    ]);
    expect(sidecar).toMatchObject({ name: "sidecar", image: "busybox:1.36", env: [{ name: "S", value: "s" }] });

    const svc = await kjson("get", "svc", "web");
    expect(svc.spec.ports.map((p: any) => [p.name, p.port, p.targetPort])).toEqual([
      ["http", 80, 8080],
      ["metrics", 9090, 9090],
    ]);
    // The allocated ClusterIP stays put across the patch.
    expect(svc.spec.clusterIP).toMatch(/^10\.43\./);

    const last = JSON.parse(d.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]);
    expect(last.metadata.labels).toEqual({ app: "web", tier: "a" });
  });

  test("kubectl diff shows a pending change and stores nothing; no change exits 0", async () => {
    await settled("web");
    const stored = await specOf("deploy", "web");
    const same = await s.kubectlWith({ stdin: WEB_V2 }, "diff", "-f", "-");
    expect(same.stderr).toBe("");
    expect(same.code).toBe(0);
    expect(same.stdout).toBe("");

    const diff = await s.kubectlWith({ stdin: WEB_V1 }, "diff", "-f", "-");
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain('-          value: "22"');
    expect(diff.stdout).toContain('+          value: "2"');
    expect(diff.stdout).toContain("+    team: blue");
    expect(await specOf("deploy", "web")).toEqual(stored);
    expect((await kjson("get", "deploy", "web")).spec.template.spec.containers[0].env[1]).toEqual({ name: "B", value: "22" });
  });

  test("apply --dry-run=server validates and answers but stores nothing", async () => {
    const stored = await specOf("deploy", "web");
    const out = await applyOk(WEB_V1 + "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry-only}\ndata: {a: b}\n", "--dry-run=server");
    expect(out).toContain("deployment.apps/web configured (server dry run)");
    expect(out).toContain("configmap/dry-only created (server dry run)");
    expect(await exists("cm", "dry-only")).toBe(false);
    expect(await specOf("deploy", "web")).toEqual(stored);
    expect((await kjson("get", "deploy", "web")).metadata.labels.team).toBeUndefined();

    // Invalid objects are still rejected in a dry run.
    const bad = await apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Not_Valid}\n", "--dry-run=server");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('metadata.name: Invalid value: "Not_Valid"');
  });
});

// The pods live in a namespace of their own: in default, the Deployment's controller makes pods too.
const FIXTURES = `
apiVersion: v1
kind: Namespace
metadata: {name: sel}
---
apiVersion: v1
kind: Node
metadata:
  name: node-a
  labels: {kubernetes.io/hostname: node-a, node-role.kubernetes.io/control-plane: "true"}
---
apiVersion: v1
kind: Pod
metadata: {name: pod-a, namespace: sel, labels: {app: web, tier: a}}
spec:
  containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata: {name: pod-b, namespace: sel, labels: {app: db, tier: b}}
spec:
  containers: [{name: c, image: busybox}, {name: d, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata: {name: pod-c, namespace: sel, labels: {app: db, tier: c}}
spec:
  containers: [{name: c, image: busybox}]
`;

describe("kubectl get", () => {
  beforeAll(async () => {
    await applyOk(FIXTURES);
  });

  test("tables have upstream's columns", async () => {
    expect(headers(await k("get", "deployments"))).toEqual(["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
    expect(headers(await k("get", "deployments", "-o", "wide"))).toEqual(["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]);
    expect(headers(await k("get", "services"))).toEqual(["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]);
    expect(headers(await k("get", "services", "-o", "wide"))).toEqual(["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]);
    expect(headers(await k("get", "pods", "-n", "sel"))).toEqual(["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    expect(headers(await k("get", "pods", "-n", "sel", "-o", "wide"))).toEqual(["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]);
    expect(headers(await k("get", "nodes"))).toEqual(["NAME", "STATUS", "ROLES", "AGE", "VERSION"]);
    expect(headers(await k("get", "nodes", "-o", "wide"))).toEqual(["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]);
    expect(headers(await k("get", "namespaces"))).toEqual(["NAME", "STATUS", "AGE"]);
    expect(headers(await k("get", "configmaps"))).toEqual(["NAME", "DATA", "AGE"]);
    expect(headers(await k("get", "pods", "-A"))).toEqual(["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    expect(headers(await k("get", "pods", "-n", "sel", "--show-labels"))).toEqual(["NAME", "READY", "STATUS", "RESTARTS", "AGE", "LABELS"]);
  });

  test("table cells", async () => {
    // READY and UP-TO-DATE belong to the Deployment controller (no node runs pods here).
    const deploy = rows(await k("get", "deploy", "-o", "wide"));
    expect(deploy).toEqual([expect.objectContaining({ NAME: "web", AVAILABLE: "0", CONTAINERS: "app,sidecar", IMAGES: "nginx:1.25,busybox:1.36", SELECTOR: "app=web" })]);
    expect(deploy[0]!.READY).toMatch(/^0\/1$/);

    const svc = rows(await k("get", "svc", "-o", "wide")).find((r) => r.NAME === "web")!;
    expect(svc).toMatchObject({ TYPE: "ClusterIP", "EXTERNAL-IP": "<none>", "PORT(S)": "80/TCP,9090/TCP", SELECTOR: "app=web" });
    expect(svc["CLUSTER-IP"]).toMatch(/^10\.43\.\d+\.\d+$/);

    const pods = rows(await k("get", "pods", "-n", "sel", "--show-labels"));
    expect(pods.map((p) => [p.NAME, p.READY, p.STATUS, p.RESTARTS, p.LABELS])).toEqual([
      ["pod-a", "0/1", "Pending", "0", "app=web,tier=a"],
      ["pod-b", "0/2", "Pending", "0", "app=db,tier=b"],
      ["pod-c", "0/1", "Pending", "0", "app=db,tier=c"],
    ]);

    const nodes = rows(await k("get", "nodes"));
    expect(nodes).toEqual([expect.objectContaining({ NAME: "node-a", ROLES: "control-plane" })]);

    const all = rows(await k("get", "pods", "-A", "-l", "tier"));
    expect(all.map((r) => `${r.NAMESPACE}/${r.NAME}`)).toEqual(["sel/pod-a", "sel/pod-b", "sel/pod-c"]);
    // app=web: pod-a here, and whatever pods the Deployment's ReplicaSet made in default.
    const web = rows(await k("get", "pods", "-A", "-l", "app=web"));
    expect(web.map((r) => `${r.NAMESPACE}/${r.NAME}`)).toContain("sel/pod-a");
    for (const r of web) expect(["default", "sel"]).toContain(r.NAMESPACE);
    const nsRows = rows(await k("get", "ns"));
    expect(nsRows.map((r) => [r.NAME, r.STATUS])).toEqual([
      ["default", "Active"],
      ["kube-node-lease", "Active"],
      ["kube-public", "Active"],
      ["kube-system", "Active"],
      ["sel", "Active"],
    ]);
    // Upstream labels each namespace with its name.
    const labelled = rows(await k("get", "ns", "--show-labels"));
    expect(labelled.find((r) => r.NAME === "sel")?.LABELS).toBe("kubernetes.io/metadata.name=sel");
    expect((await k("get", "ns", "-l", "kubernetes.io/metadata.name=kube-system", "-o", "name")).trim()).toBe("namespace/kube-system");
    // -A across kinds names each namespace (the kubernetes Service lives in default).
    const svcs = rows(await k("get", "svc", "-A"));
    expect(svcs.map((r) => `${r.NAMESPACE}/${r.NAME}`)).toEqual(["default/kubernetes", "default/web"]);
  });

  test("label selectors", async () => {
    const names = async (...sel: string[]) => (await k("get", "pods", "-n", "sel", ...sel, "-o", "name")).trim().split("\n").filter(Boolean);
    expect(await names("-l", "app=web")).toEqual(["pod/pod-a"]);
    expect(await names("-l", "tier in (a,b)")).toEqual(["pod/pod-a", "pod/pod-b"]);
    expect(await names("-l", "tier notin (a,b)")).toEqual(["pod/pod-c"]);
    expect(await names("-l", "app=db,tier!=b")).toEqual(["pod/pod-c"]);
    expect(await names("-l", "!tier")).toEqual([]);
    expect(await names("-l", "app")).toEqual(["pod/pod-a", "pod/pod-b", "pod/pod-c"]);
    const bad = await s.kubectl("get", "pods", "-l", "tier in (a");
    expect(bad.code).not.toBe(0);
  });

  test("paged lists (--chunk-size) return every object once, with selectors too", async () => {
    await applyOk(Array.from({ length: 7 }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: page-${i}, namespace: sel, labels: {page: "${i % 2}"}}\n`).join("---\n"));
    const all = (await k("get", "cm", "-n", "sel", "-o", "name")).trim().split("\n");
    expect(all.filter((n) => n.startsWith("configmap/page-"))).toHaveLength(7);
    expect((await k("get", "cm", "-n", "sel", "-o", "name", "--chunk-size=2")).trim().split("\n")).toEqual(all);
    const odd = (await k("get", "cm", "-n", "sel", "-l", "page=1", "-o", "name", "--chunk-size=1")).trim().split("\n");
    expect(odd).toEqual(["configmap/page-1", "configmap/page-3", "configmap/page-5"]);
    expect(await k("delete", "cm", "-n", "sel", "-l", "page")).toContain('configmap "page-6" deleted');
    expect(await k("get", "cm", "-n", "sel", "-l", "page", "-o", "name")).toBe("");
  });

  test("field selectors", async () => {
    const names = async (...sel: string[]) => (await k("get", "pods", "-n", "sel", ...sel, "-o", "name")).trim().split("\n").filter(Boolean);
    expect(await names("--field-selector", "metadata.name=pod-b")).toEqual(["pod/pod-b"]);
    expect(await names("--field-selector", "metadata.name!=pod-b")).toEqual(["pod/pod-a", "pod/pod-c"]);
    expect(await names("--field-selector", "status.phase=Pending")).toEqual(["pod/pod-a", "pod/pod-b", "pod/pod-c"]);
    await k("patch", "pod", "pod-c", "-n", "sel", "--subresource=status", "--type=merge", "-p", '{"status":{"phase":"Running"}}');
    expect(await names("--field-selector", "status.phase=Pending")).toEqual(["pod/pod-a", "pod/pod-b"]);
    expect(await names("--field-selector", "status.phase=Running")).toEqual(["pod/pod-c"]);
    expect(await names("--field-selector", "status.phase=Pending", "-l", "app=db")).toEqual(["pod/pod-b"]);
    expect((await k("get", "cm", "--field-selector", "metadata.name=web-config", "-o", "name")).trim()).toBe("configmap/web-config");
    // A field the resource cannot be selected by is the server's 400, not an empty list.
    const bad = await s.kubectl("get", "pods", "--field-selector", "spec.nope=x");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("spec.nope");
  });

  test("get -w streams changes as they happen", async () => {
    // A watch only reports what happens after its initial list: seed the selection with one
    // object and wait for both watchers to have printed it before changing anything.
    await applyOk("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watch-seed, labels: {watched: 'yes'}}\n");
    const w = s.spawnKubectl("get", "configmaps", "-l", "watched=yes", "-w", "--output-watch-events");
    const wj = s.spawnKubectl("get", "configmaps", "-l", "watched=yes", "-w", "-o", "json");
    try {
      await w.waitFor((o) => /ADDED\s+watch-seed\s/.test(o));
      await wj.waitFor((o) => o.includes('"name": "watch-seed"'));
      await applyOk("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched, labels: {watched: 'yes'}}\ndata: {a: '1'}\n");
      await w.waitFor((o) => /ADDED\s+watched\s+1\s/.test(o));
      await k("patch", "cm", "watched", "-p", '{"data":{"b":"2"}}');
      await w.waitFor((o) => /MODIFIED\s+watched\s+2\s/.test(o));
      // Leaving the selection is a DELETED for this watch.
      await k("label", "cm", "watched", "watched=no", "--overwrite");
      await w.waitFor((o) => /DELETED\s+watched\s+2\s/.test(o));
      await k("label", "cm", "watched", "watched=yes", "--overwrite");
      await k("delete", "cm", "watched");
      const out = await w.waitFor((o) => o.split("\n").filter((l) => l.startsWith("DELETED")).length === 2);
      const events = out.split("\n").filter((l) => /^[A-Z]+\s/.test(l)).map((l) => l.split(/\s+/).slice(0, 2).join(" "));
      expect(events).toEqual(["EVENT NAME", "ADDED watch-seed", "ADDED watched", "MODIFIED watched", "DELETED watched", "ADDED watched", "DELETED watched"]);

      // -o json prints each object as it arrives: the seed, then every version of `watched`.
      const json = await wj.waitFor((o) => (o.match(/"kind": "ConfigMap"/g) ?? []).length >= 6);
      const data = [...json.matchAll(/"data": (\{[^}]*\})/g)].map((m) => JSON.parse(m[1]!));
      expect(data.slice(0, 2)).toEqual([{ a: "1" }, { a: "1", b: "2" }]);
    } finally {
      await w.stop();
      await wj.stop();
    }
  });
});

describe("kubectl scale and patch", () => {
  test("scale deploy/web --replicas=3", async () => {
    expect(await k("scale", "deploy/web", "--replicas=3")).toContain("deployment.apps/web scaled");
    const d = await kjson("get", "deploy", "web");
    expect(d.spec.replicas).toBe(3);
    expect((await k("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}")).trim()).toBe("3");
    // --current-replicas is a precondition the server must enforce.
    const wrong = await s.kubectl("scale", "deploy/web", "--current-replicas=5", "--replicas=1");
    expect(wrong.code).not.toBe(0);
    expect((await kjson("get", "deploy", "web")).spec.replicas).toBe(3);
  });

  test("merge, json and strategic patches", async () => {
    await k("patch", "deploy", "web", "--type", "merge", "-p", '{"metadata":{"labels":{"merged":"yes","added-by":null}}}');
    let d = await kjson("get", "deploy", "web");
    expect(d.metadata.labels).toEqual({ app: "web", tier: "a", merged: "yes" });

    await k("patch", "deploy", "web", "--type", "json", "-p", '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.27"},{"op":"add","path":"/spec/template/spec/containers/0/env/-","value":{"name":"E","value":"5"}}]');
    d = await kjson("get", "deploy", "web");
    expect(d.spec.template.spec.containers[0].image).toBe("nginx:1.27");
    expect(d.spec.template.spec.containers[0].env.map((e: any) => e.name)).toEqual(["A", "B", "C", "D", "E"]);

    // Strategic (the default): containers merge by name, env by name.
    await k("patch", "deploy", "web", "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.37","env":[{"name":"T","value":"t"}]}]}}}}');
    d = await kjson("get", "deploy", "web");
    const [app, sidecar] = d.spec.template.spec.containers;
    expect(app.image).toBe("nginx:1.27");
    expect(app.env).toHaveLength(5);
    expect(sidecar.image).toBe("busybox:1.37");
    expect(sidecar.env).toEqual([
      { name: "T", value: "t" },
      { name: "S", value: "s" },
    ]);
    // $patch: delete removes one element by its merge key.
    await k("patch", "deploy", "web", "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"C","$patch":"delete"}]}]}}}}');
    d = await kjson("get", "deploy", "web");
    expect(d.spec.template.spec.containers[0].env.map((e: any) => e.name)).toEqual(["A", "B", "D", "E"]);

    // A JSON patch whose test fails changes nothing. (The Deployment controller may write
    // status meanwhile, so compare what a patch could change: spec and generation.)
    const specNow = async () => {
      const x = await kjson("get", "deploy", "web");
      return { generation: x.metadata.generation, spec: x.spec };
    };
    const before = await specNow();
    const failed = await s.kubectl("patch", "deploy", "web", "--type", "json", "-p", '[{"op":"test","path":"/spec/replicas","value":99},{"op":"replace","path":"/spec/replicas","value":7}]');
    expect(failed.code).not.toBe(0);
    expect(await specNow()).toEqual(before);
    const invalid = await s.kubectl("patch", "deploy", "web", "--type", "merge", "-p", '{"spec":{"replicas":-1}}');
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain("spec.replicas");
    expect(await specNow()).toEqual(before);
  });
});

describe("kubectl delete --cascade", () => {
  /** An owner ConfigMap or Deployment with two ConfigMaps that name it in ownerReferences. */
  async function ownerWithDependents(kind: "ConfigMap" | "Deployment", name: string) {
    const owner =
      kind === "ConfigMap"
        ? `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {role: owner}\n`
        : `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}}\nspec:\n  selector: {matchLabels: {app: ${name}}}\n  template:\n    metadata: {labels: {app: ${name}}}\n    spec: {containers: [{name: c, image: busybox}]}\n`;
    await applyOk(owner);
    const ownerJson = await kjson("get", kind === "ConfigMap" ? "cm" : "deploy", name);
    const ref = `[{apiVersion: ${ownerJson.apiVersion}, kind: ${kind}, name: ${name}, uid: ${ownerJson.metadata.uid}}]`;
    await applyOk(
      [1, 2].map((i) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}-dep${i}\n  labels: {owner: ${name}}\n  ownerReferences: ${ref}\ndata: {i: "${i}"}\n`).join("---\n"),
    );
    return ownerJson.metadata.uid as string;
  }
  const dependents = async (owner: string) => (await k("get", "cm", "-l", `owner=${owner}`, "-o", "name")).trim().split("\n").filter(Boolean);

  test("background: the owner goes at once, its dependents after it", async () => {
    await ownerWithDependents("ConfigMap", "bg-owner");
    expect(await dependents("bg-owner")).toHaveLength(2);
    expect(await k("delete", "cm", "bg-owner", "--cascade=background")).toContain('configmap "bg-owner" deleted');
    expect(await exists("cm", "bg-owner")).toBe(false);
    await eventually("background dependents to be collected", async () => (await dependents("bg-owner")).length === 0);
  });

  test("foreground: dependents are gone before the owner is", async () => {
    await ownerWithDependents("Deployment", "fg-owner");
    expect(await dependents("fg-owner")).toHaveLength(2);
    // kubectl waits for the owner to disappear, which foreground deletion allows only after
    // every blocking dependent is gone... these dependents do not block, so look at both.
    await k("delete", "deploy", "fg-owner", "--cascade=foreground");
    await eventually("foreground deletion to finish", async () => !(await exists("deploy", "fg-owner")) && (await dependents("fg-owner")).length === 0);
  });

  test("foreground with blockOwnerDeletion: the owner waits, marked for deletion, until its dependents are gone", async () => {
    await applyOk("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fgb-owner}\n");
    const uid = (await kjson("get", "cm", "fgb-owner")).metadata.uid;
    await applyOk(
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fgb-dep\n  labels: {owner: fgb-owner}\n  finalizers: [example.com/hold]\n  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: fgb-owner, uid: ${uid}, blockOwnerDeletion: true}]\n`,
    );
    await k("delete", "cm", "fgb-owner", "--cascade=foreground", "--wait=false");
    const owner = await kjson("get", "cm", "fgb-owner");
    expect(owner.metadata.deletionTimestamp).toBeTruthy();
    expect(owner.metadata.finalizers).toContain("foregroundDeletion");
    const dep = await kjson("get", "cm", "fgb-dep");
    expect(dep.metadata.deletionTimestamp).toBeTruthy();
    // Releasing the dependent's finalizer lets both go.
    await k("patch", "cm", "fgb-dep", "--type", "merge", "-p", '{"metadata":{"finalizers":null}}');
    await eventually("the foreground owner to go", async () => !(await exists("cm", "fgb-owner")) && !(await exists("cm", "fgb-dep")));
  });

  test("orphan: dependents stay, without the owner reference", async () => {
    await ownerWithDependents("Deployment", "or-owner");
    await k("delete", "deploy", "or-owner", "--cascade=orphan");
    expect(await exists("deploy", "or-owner")).toBe(false);
    expect(await dependents("or-owner")).toEqual(["configmap/or-owner-dep1", "configmap/or-owner-dep2"]);
    for (const name of ["or-owner-dep1", "or-owner-dep2"]) {
      const dep = await kjson("get", "cm", name);
      expect(dep.metadata.ownerReferences ?? []).toEqual([]);
      expect(dep.metadata.deletionTimestamp).toBeUndefined();
    }
  });
});

describe("namespaces", () => {
  test("kubectl create namespace, objects in it, delete namespace removes everything", async () => {
    const created = await s.kubectl("create", "namespace", "scratch");
    expect(created.stderr).toBe("");
    expect(created.stdout).toContain("namespace/scratch created");
    await applyOk(
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1}\ndata: {a: b}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s1}\nspec: {ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p1}\nspec: {containers: [{name: c, image: busybox}]}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d1}\nspec:\n  selector: {matchLabels: {app: d1}}\n  template:\n    metadata: {labels: {app: d1}}\n    spec: {containers: [{name: c, image: busybox}]}\n`,
      "-n",
      "scratch",
    );
    const inside = (await k("get", "cm,svc,pods,deploy", "-n", "scratch", "-o", "name")).trim().split("\n");
    for (const o of ["configmap/c1", "service/s1", "pod/p1", "deployment.apps/d1"]) expect(inside).toContain(o);
    expect(await k("delete", "namespace", "scratch")).toContain('namespace "scratch" deleted');
    expect(await exists("namespace", "scratch")).toBe(false);
    for (const kind of ["cm", "svc", "pods", "deploy", "sa", "secrets", "endpoints"]) {
      expect(await k("get", kind, "-n", "scratch", "-o", "name")).toBe("");
    }
    // Creating in a namespace that does not exist is NotFound.
    const orphan = await apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1, namespace: scratch}\n");
    expect(orphan.code).not.toBe(0);
    expect(orphan.stderr).toContain('namespaces "scratch" not found');
  });

  test("kubectl create for the common kinds", async () => {
    // `kubectl create <kind>` uses typed clients; check each one the server supports.
    const cases: [string[], string][] = [
      [["create", "configmap", "made-cm", "--from-literal=k=v"], "configmap/made-cm created"],
      [["create", "secret", "generic", "made-secret", "--from-literal=k=v"], "secret/made-secret created"],
      [["create", "serviceaccount", "made-sa"], "serviceaccount/made-sa created"],
      [["create", "deployment", "made-deploy", "--image=busybox"], "deployment.apps/made-deploy created"],
      [["create", "service", "clusterip", "made-svc", "--tcp=80:8080"], "service/made-svc created"],
    ];
    for (const [args, expected] of cases) {
      const r = await s.kubectl(...args);
      expect({ args, stderr: r.stderr, stdout: r.stdout.trim() }).toEqual({ args, stderr: "", stdout: expected });
    }
    expect((await kjson("get", "secret", "made-secret")).data).toEqual({ k: Buffer.from("v").toString("base64") });
  });
});

describe("errors through kubectl", () => {
  test("an invalid name: non-zero exit with the server's message", async () => {
    const r = await apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain');
  });

  test("an unknown field with default validation names the field", async () => {
    const r = await apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: unknown-field}\nbogus: 1\ndata: {a: b}\n");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown field "bogus"');
    expect(await exists("cm", "unknown-field")).toBe(false);
    const nested = await apply(WEB_V1.replace("image: busybox:1.36", "image: busybox:1.36\n        imagePulPolicy: Always"));
    expect(nested.code).not.toBe(0);
    expect(nested.stderr).toContain("imagePulPolicy");
  });

  test("get of a missing object and an unknown resource type", async () => {
    const missing = await s.kubectl("get", "cm", "does-not-exist");
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('Error from server (NotFound): configmaps "does-not-exist" not found');
    const unknown = await s.kubectl("get", "widgets");
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('the server doesn\'t have a resource type "widgets"');
  });

  test("replace with a stale resourceVersion is a Conflict", async () => {
    const cm = await kjson("get", "cm", "web-config");
    await k("label", "cm", "web-config", "bump=1");
    const r = await s.kubectlWith({ stdin: JSON.stringify(cm) }, "replace", "-f", "-");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("the object has been modified; please apply your changes to the latest version and try again");
  });
});

interface Snapshot {
  [key: string]: { uid: string; rv: number; object: any };
}
/** Every object the server holds, by resource. */
async function snapshot(server: TestServer): Promise<Snapshot> {
  const types = (await k("api-resources", "--verbs=list", "-o", "name")).trim().split("\n").sort();
  const out: Snapshot = {};
  for (const t of types) {
    const list = parseJson(await server.kubectl("get", t, "-A", "-o", "json"));
    for (const o of list.items) out[`${t} ${o.metadata.namespace ?? ""}/${o.metadata.name}`] = { uid: o.metadata.uid, rv: Number(o.metadata.resourceVersion), object: o };
  }
  return out;
}
/** Kinds no controller writes to once they are settled: these must come back byte for byte. */
const UNMANAGED = ["configmaps", "secrets", "services", "namespaces"];

describe("restarts", () => {
  test("SIGTERM exits 0; a restart on the same data dir keeps every object, resourceVersions, CA and token", async () => {
    const before = await snapshot(s);
    expect(Object.keys(before).length).toBeGreaterThan(20);
    const webConfig = await kjson("get", "cm", "web-config");
    const ca = s.ca();
    const token = s.token();
    const oldKubeconfig = join(s.dataDir, "..", "old.kubeconfig");
    copyFileSync(s.kubeconfig, oldKubeconfig);

    // An open watch must not hold up a clean shutdown.
    const watcher = s.spawnKubectl("get", "cm", "-w");
    await watcher.waitFor((o) => o.includes("web-config"));
    expect(await s.stop()).toBe(0);
    await watcher.stop();
    await s.restart();

    expect(s.ca()).toBe(ca);
    expect(s.token()).toBe(token);
    const viaOld = await s.kubectl("--kubeconfig", oldKubeconfig, "get", "cm", "web-config", "-o", "json");
    expect(viaOld.stderr).toBe("");
    expect(JSON.parse(viaOld.stdout)).toEqual(webConfig);
    expect(readFileSync(s.kubeconfig, "utf8")).toBe(readFileSync(oldKubeconfig, "utf8"));

    // Every object is back, the same object (uid). Controllers and the scheduler resume after a
    // restart and may write again (events, pod conditions), so for the kinds they manage a
    // resourceVersion may only have moved forward; the rest must be exactly as they were.
    const after = await snapshot(s);
    const missing = Object.keys(before).filter((key) => after[key]?.uid !== before[key]!.uid);
    expect(missing).toEqual([]);
    for (const [key, b] of Object.entries(before)) {
      if (UNMANAGED.includes(key.split(" ")[0]!)) expect({ key, object: after[key]!.object }).toEqual({ key, object: b.object });
      else expect({ key, movedBack: after[key]!.rv < b.rv }).toEqual({ key, movedBack: false });
    }

    // New writes continue the revision sequence instead of reusing numbers.
    const maxBefore = Math.max(...Object.values(before).map((v) => v.rv));
    await applyOk("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: after-restart}\n");
    expect(Number(await rvOf("cm", "after-restart"))).toBeGreaterThan(maxBefore);
  }, 90_000);

  test("kill -9: every acknowledged write is there after a restart", async () => {
    const acked: { name: string; rv: string }[] = [];
    const headers = { "content-type": "application/json" };
    let stop = false;
    // Four writers create ConfigMaps as fast as the server acknowledges them.
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const name = `k9-${w}-${i}`;
        try {
          const res = await s.fetch("/api/v1/namespaces/default/configmaps", { method: "POST", headers, body: JSON.stringify({ metadata: { name, labels: { k9: "yes" } }, data: { i: String(i) } }) });
          const body = (await res.json()) as any;
          if (res.status === 201) acked.push({ name, rv: body.metadata.resourceVersion });
        } catch {
          return; // the server is gone
        }
      }
    });
    while (acked.length < 200) await Bun.sleep(10);
    await s.kill();
    stop = true;
    await Promise.all(writers);
    expect(acked.length).toBeGreaterThanOrEqual(200);

    await s.restart();
    const list = parseJson(await s.kubectl("get", "cm", "-l", "k9=yes", "-o", "json"));
    const stored = new Map<string, string>(list.items.map((o: any) => [o.metadata.name, o.metadata.resourceVersion]));
    const missing = acked.filter((a) => stored.get(a.name) !== a.rv);
    expect(missing).toEqual([]);
    // The server is healthy and writable after the crash.
    await applyOk("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: after-kill}\n");
    expect(await exists("cm", "after-kill")).toBe(true);
  }, 90_000);
});
