// Scenarios for tests/client-node.test.ts, each run in its own `bun` process:
//
//   NODE_EXTRA_CA_CERTS=<cluster CA> bun tests/helpers/client-node-scenarios.ts <scenario> <kubeconfig>
//
// Why a separate process: @kubernetes/client-node 2.x sends every request through undici's
// fetch with a dispatcher carrying the kubeconfig's CA. Under Bun, `undici` is Bun's built-in
// stand-in, which ignores the dispatcher's TLS options, so the CA never reaches the TLS handshake
// ("unable to verify the first certificate"). Bun does honour NODE_EXTRA_CA_CERTS, but only when
// the process starts, and the CA only exists once the test has started the server. Verification
// stays on: nothing here sets rejectUnauthorized or NODE_TLS_REJECT_UNAUTHORIZED.
//
// Each scenario prints one JSON object (what it observed) on stdout; the test asserts on it.

import * as k8s from "@kubernetes/client-node";

const [scenario, kubeconfigPath] = process.argv.slice(2);
const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfigPath!);
const core = kc.makeApiClient(k8s.CoreV1Api);
const NS = "default";
const CMS = `/api/v1/namespaces/${NS}/configmaps`;

const cm = (name: string, labels: Record<string, string>, data: Record<string, string>): k8s.V1ConfigMap => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, labels },
  data,
});

async function until(what: string, cond: () => boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

/** An ApiException as plain data (or the error's text if it is something else). */
const apiError = (e: unknown) => (e instanceof k8s.ApiException ? { code: e.code, body: typeof e.body === "string" ? JSON.parse(e.body) : e.body } : { other: String(e) });

const scenarios: Record<string, () => Promise<unknown>> = {
  async namespaces() {
    const list = await core.listNamespace();
    const ns = await core.readNamespace({ name: "kube-system" });
    return {
      server: kc.getCurrentCluster()?.server,
      names: list.items.map((n) => n.metadata?.name),
      listResourceVersion: list.metadata?.resourceVersion,
      kubeSystemPhase: ns.status?.phase,
    };
  },

  async configmaps() {
    const created = await core.createNamespacedConfigMap({ namespace: NS, body: cm("cn-one", { suite: "crud" }, { a: "1" }) });
    await core.createNamespacedConfigMap({ namespace: NS, body: cm("cn-two", { suite: "crud" }, { b: "2" }) });
    await core.createNamespacedConfigMap({ namespace: NS, body: cm("cn-other", { suite: "elsewhere" }, {}) });
    const list = await core.listNamespacedConfigMap({ namespace: NS, labelSelector: "suite=crud" });
    const page1 = await core.listNamespacedConfigMap({ namespace: NS, labelSelector: "suite=crud", limit: 1 });
    const page2 = await core.listNamespacedConfigMap({ namespace: NS, labelSelector: "suite=crud", limit: 1, _continue: page1.metadata?._continue });
    // client-node sends application/json-patch+json by default.
    const patched = await core.patchNamespacedConfigMap({ namespace: NS, name: "cn-one", body: [{ op: "add", path: "/data/c", value: "3" }] });
    const read = await core.readNamespacedConfigMap({ namespace: NS, name: "cn-one" });
    const replaced = await core.replaceNamespacedConfigMap({ namespace: NS, name: "cn-one", body: { ...read, data: { z: "26" } } });
    const stale = await core.replaceNamespacedConfigMap({ namespace: NS, name: "cn-one", body: { ...read, data: { late: "1" } } }).then(() => "accepted", apiError);
    await core.deleteNamespacedConfigMap({ namespace: NS, name: "cn-one" });
    const missing = await core.readNamespacedConfigMap({ namespace: NS, name: "cn-one" }).then(() => "found", apiError);
    return {
      created: { uid: created.metadata?.uid, creationTimestampIsDate: created.metadata?.creationTimestamp instanceof Date },
      listed: list.items.map((c) => [c.metadata?.name, c.data]),
      page1: { names: page1.items.map((c) => c.metadata?.name), continue: page1.metadata?._continue },
      page2: { names: page2.items.map((c) => c.metadata?.name), continue: page2.metadata?._continue ?? "" },
      patched: patched.data,
      replaced: { data: replaced.data, rv: replaced.metadata?.resourceVersion, previousRv: read.metadata?.resourceVersion },
      stale,
      missing,
    };
  },

  async watch() {
    const sel = "suite=watch";
    const list = await core.listNamespacedConfigMap({ namespace: NS, labelSelector: sel });
    const events: { type: string; name: string; rv: string; data: unknown }[] = [];
    let ended: unknown = "still open";
    const controller = await new k8s.Watch(kc).watch(
      CMS,
      { labelSelector: sel, resourceVersion: list.metadata!.resourceVersion!, allowWatchBookmarks: true },
      (type, obj) => {
        if (type !== "BOOKMARK") events.push({ type, name: obj.metadata.name, rv: obj.metadata.resourceVersion, data: obj.data });
      },
      (err) => (ended = err === null ? "closed" : String(err)),
    );
    try {
      await core.createNamespacedConfigMap({ namespace: NS, body: cm("w1", { suite: "watch" }, { v: "1" }) });
      await core.patchNamespacedConfigMap({ namespace: NS, name: "w1", body: [{ op: "replace", path: "/data/v", value: "2" }] });
      await core.createNamespacedConfigMap({ namespace: NS, body: cm("w2", { suite: "watch" }, { v: "1" }) });
      await core.createNamespacedConfigMap({ namespace: NS, body: cm("not-watched", { suite: "other" }, {}) });
      await core.deleteNamespacedConfigMap({ namespace: NS, name: "w1" });
      await core.deleteNamespacedConfigMap({ namespace: NS, name: "w2" });
      await until("5 watch events", () => events.length >= 5);
      // Anything the server sent after the five (e.g. the unrelated ConfigMap) would show up here.
      await Bun.sleep(200);
      return { events, ended };
    } finally {
      controller.abort();
    }
  },

  async informer() {
    const sel = "suite=informer";
    await core.createNamespacedConfigMap({ namespace: NS, body: cm("pre", { suite: "informer" }, { v: "0" }) });
    const informer = k8s.makeInformer(kc, CMS, () => core.listNamespacedConfigMap({ namespace: NS, labelSelector: sel }), sel);
    const seen: string[] = [];
    const errors: string[] = [];
    informer.on(k8s.ADD, (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on(k8s.UPDATE, (o) => seen.push(`update ${o.metadata?.name} ${JSON.stringify((o as k8s.V1ConfigMap).data)}`));
    informer.on(k8s.DELETE, (o) => seen.push(`delete ${o.metadata?.name}`));
    informer.on(k8s.ERROR, (e) => errors.push(String(e)));
    await informer.start();
    try {
      await until("the initial list", () => seen.includes("add pre"));
      await core.createNamespacedConfigMap({ namespace: NS, body: cm("i1", { suite: "informer" }, { v: "1" }) });
      await until("add i1", () => seen.includes("add i1"));
      await core.patchNamespacedConfigMap({ namespace: NS, name: "i1", body: [{ op: "replace", path: "/data/v", value: "2" }] });
      await until("update i1", () => seen.some((e) => e.startsWith("update i1")));
      await core.deleteNamespacedConfigMap({ namespace: NS, name: "pre" });
      await core.deleteNamespacedConfigMap({ namespace: NS, name: "i1" });
      await until("both deletes", () => seen.filter((e) => e.startsWith("delete")).length === 2);
      const cacheAfterDeletes = informer.list(NS).map((o) => o.metadata?.name);
      // Taken before i2 exists: its ADDED event may arrive while the create call is still returning.
      const seenBeforeI2 = [...seen];
      await core.createNamespacedConfigMap({ namespace: NS, body: cm("i2", { suite: "informer" }, { v: "9" }) });
      await until("i2 in the cache", () => informer.get("i2", NS) !== undefined);
      return { seen: seenBeforeI2, cacheAfterDeletes, i2: (informer.get("i2", NS) as k8s.V1ConfigMap).data, errors };
    } finally {
      await informer.stop();
    }
  },
};

const run = scenarios[scenario ?? ""];
if (!run) {
  console.error(`unknown scenario ${scenario}; one of ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
try {
  console.log(JSON.stringify(await run()));
  process.exit(0);
} catch (e) {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
}
