// StatefulSets through the real kubectl on a real server with its embedded agent, Docker engine,
// pod network and cluster DNS (a server in a network namespace of its own): pods come up one at
// a time in ordinal order and go in reverse, each answers at <pod>.<service>.<ns>.svc.cluster.local
// from another pod, a kill -9 of the server in the middle of a scale-up leaves no duplicate pod
// or container, and claims are made from volumeClaimTemplates (bound by the built-in local-path
// provisioner on the pod's node, then mounted).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { TEST_IMAGE } from "../src/agent/images/testimage";
import { LABELS } from "../src/agent/runtime/runtime";
import { netnsServerSkipReason, startNetnsServer, type NetnsServer } from "./helpers/netns-server";

setDefaultTimeout(90_000);

const NS = "default";

const service = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web" },
  spec: { clusterIP: "None", selector: { app: "web" }, ports: [{ name: "http", port: 8080 }] },
};

const statefulSet = {
  apiVersion: "apps/v1",
  kind: "StatefulSet",
  metadata: { name: "web" },
  spec: {
    serviceName: "web",
    replicas: 0,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: "web",
            image: TEST_IMAGE,
            imagePullPolicy: "Never",
            // Each pod serves its own hostname, so an answer says which pod a name reached.
            command: ["sh", "-c", "mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"],
          },
        ],
      },
    },
  },
};

interface WatchLine {
  type: string;
  name: string;
  ready: string;
  deleting: boolean;
}

describe.skipIf(!!netnsServerSkipReason)("StatefulSets on a real node", () => {
  let node: NetnsServer;

  const must = async (...args: string[]) => {
    const r = await node.kubectl(...args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const json = async (...args: string[]) => JSON.parse(await must(...args, "-o", "json"));
  const until = async <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await f().catch(() => undefined);
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${node.log()}`);
      await Bun.sleep(200);
    }
  };
  const readyReplicas = async () => (await json("get", "statefulset", "web", "-n", NS)).status?.readyReplicas ?? 0;

  /** `kubectl get pods --watch` in the background: every event of the set's pods, in order. */
  const watchPods = () => {
    const proc = Bun.spawn(
      [
        "kubectl", "--kubeconfig", node.kubeconfig, "get", "pods", "-n", NS, "-l", "app=web", "--watch", "--output-watch-events",
        "-o", 'jsonpath={.type} {.object.metadata.name} {.object.status.conditions[?(@.type=="Ready")].status} {.object.metadata.deletionTimestamp}{"\\n"}',
      ],
      { stdout: "pipe", stderr: "ignore" },
    );
    const lines: WatchLine[] = [];
    void (async () => {
      let buf = "";
      for await (const chunk of proc.stdout) {
        buf += new TextDecoder().decode(chunk);
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const [type = "", name = "", ready = "", deleting = ""] = buf.slice(0, nl).split(" ");
          buf = buf.slice(nl + 1);
          lines.push({ type, name, ready, deleting: !!deleting });
        }
      }
    })();
    return { lines, stop: () => proc.kill() };
  };
  const firstIndex = (lines: WatchLine[], f: (l: WatchLine) => boolean) => lines.findIndex(f);

  beforeAll(async () => {
    node = await startNetnsServer("sts");
    await node.kubectlWith(JSON.stringify(service), "apply", "-f", "-");
    const r = await node.kubectlWith(JSON.stringify(statefulSet), "apply", "-f", "-");
    if (r.code !== 0) throw new Error(r.stderr);
  }, 180_000);

  afterAll(async () => {
    await node?.destroy();
  }, 120_000);

  test("kubectl shows the set with upstream's columns and short name", async () => {
    const out = await must("get", "sts", "-n", NS);
    expect(out.split("\n")[0]!.split(/\s+/)).toEqual(["NAME", "READY", "AGE"]);
    expect(out).toMatch(/^web\s+0\/0\s+/m);
  });

  test("scales 0 → 3 in ordinal order, each pod only once the one before it is Ready", async () => {
    const watch = watchPods();
    try {
      await must("scale", "statefulset", "web", "-n", NS, "--replicas=3");
      await until("3 ready replicas", async () => (await readyReplicas()) === 3);
      await must("rollout", "status", "statefulset/web", "-n", NS, "--timeout=30s");
    } finally {
      watch.stop();
    }
    const lines = watch.lines;
    const added = lines.filter((l) => l.type === "ADDED").map((l) => l.name);
    expect(added).toEqual(["web-0", "web-1", "web-2"]);
    for (const [prev, next] of [["web-0", "web-1"], ["web-1", "web-2"]] as const) {
      const readyAt = firstIndex(lines, (l) => l.name === prev && l.ready === "True");
      const addedAt = firstIndex(lines, (l) => l.name === next && l.type === "ADDED");
      expect(readyAt).toBeGreaterThanOrEqual(0);
      expect(addedAt).toBeGreaterThan(readyAt);
    }
    const pod = await json("get", "pod", "web-1", "-n", NS);
    // Its own FQDN, as /etc/hosts in the pod says.
    expect((await must("exec", "web-1", "-n", NS, "--", "hostname", "-f")).trim()).toBe(`web-1.web.${NS}.svc.cluster.local`);
    expect(pod.spec.hostname).toBe("web-1");
    expect(pod.spec.subdomain).toBe("web");
    expect(pod.metadata.labels["statefulset.kubernetes.io/pod-name"]).toBe("web-1");
  });

  test("each pod answers at its stable DNS name from another pod", async () => {
    const fqdn = (i: number) => `web-${i}.web.${NS}.svc.cluster.local`;
    // Each name is tried until it answers: the Endpoints and the node's DNS catch up on their own.
    const script = [0, 1, 2]
      .map(
        (i) =>
          `for t in $(seq 1 40); do a=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${fqdn(i)} 8080 | tail -n 1); [ -n "$a" ] && break; sleep 0.25; done; echo "web-${i}=$a"`,
      )
      .join("; ");
    const { pod, line } = await node.runScriptPod("dns-client", script);
    expect(pod.status.phase).toBe("Succeeded");
    for (const i of [0, 1, 2]) expect(line(`web-${i}`)).toBe(`web-${i}`);
  });

  test("scales 3 → 1 from the highest ordinal, one pod gone before the next goes", async () => {
    const watch = watchPods();
    try {
      await must("scale", "statefulset", "web", "-n", NS, "--replicas=1");
      await until("only web-0", async () => (await json("get", "pods", "-n", NS, "-l", "app=web")).items.length === 1);
    } finally {
      watch.stop();
    }
    const lines = watch.lines;
    const goneAt = firstIndex(lines, (l) => l.name === "web-2" && l.type === "DELETED");
    const web1Marked = firstIndex(lines, (l) => l.name === "web-1" && l.deleting);
    const web2Marked = firstIndex(lines, (l) => l.name === "web-2" && l.deleting);
    expect(web2Marked).toBeGreaterThanOrEqual(0);
    expect(goneAt).toBeGreaterThan(web2Marked);
    expect(web1Marked).toBeGreaterThan(goneAt);
    expect((await json("get", "pods", "-n", NS, "-l", "app=web")).items.map((p: any) => p.metadata.name)).toEqual(["web-0"]);
  });

  test("kubectl rollout history and undo work on the set's ControllerRevisions", async () => {
    await must("set", "env", "statefulset/web", "-n", NS, "GREETING=hi");
    await must("rollout", "status", "statefulset/web", "-n", NS, "--timeout=30s");
    const history = await must("rollout", "history", "statefulset/web", "-n", NS);
    expect(history).toMatch(/REVISION\s+CHANGE-CAUSE/);
    expect(history).toMatch(/^1\s/m);
    expect(history).toMatch(/^2\s/m);
    await must("rollout", "undo", "statefulset/web", "-n", NS);
    await until("rolled back", async () => {
      const sts = await json("get", "statefulset", "web", "-n", NS);
      return !sts.spec.template.spec.containers[0].env && sts.status.updateRevision === sts.status.currentRevision && sts.status.readyReplicas === 1;
    });
    expect(await must("rollout", "history", "statefulset/web", "-n", NS)).toMatch(/^3\s/m);
  });

  test("a kill -9 of the server in the middle of a scale-up leaves no duplicate pod or container", async () => {
    await must("scale", "statefulset", "web", "-n", NS, "--replicas=3");
    await until("web-1 created", async () => (await node.kubectl("get", "pod", "web-1", "-n", NS)).code === 0);
    await node.killServer();
    await node.startServer();
    await until("3 ready replicas after the restart", async () => (await readyReplicas()) === 3);
    const pods = (await json("get", "pods", "-n", NS, "-l", "app=web")).items;
    expect(pods.map((p: any) => p.metadata.name).sort()).toEqual(["web-0", "web-1", "web-2"]);
    // One running app container per pod on the engine, and it is the current pod's.
    const containers = await node.docker.listContainers({ [LABELS.podNamespace]: NS, [LABELS.kind]: "app" });
    const running = containers.filter((c) => c.state === "running" && c.labels[LABELS.podName]?.startsWith("web-"));
    expect(running.map((c) => c.labels[LABELS.podName]).sort()).toEqual(["web-0", "web-1", "web-2"]);
    for (const p of pods) expect(running.find((c) => c.labels[LABELS.podName] === p.metadata.name)?.labels[LABELS.podUid]).toBe(p.metadata.uid);
  });

  test("volumeClaimTemplates make a claim per pod first; the default class binds it on the pod's node and the pod mounts it; whenDeleted: Delete removes it with the set", async () => {
    const db = structuredClone(statefulSet) as any;
    db.metadata.name = "db";
    db.spec.serviceName = "db";
    db.spec.replicas = 1;
    db.spec.selector.matchLabels = { app: "db" };
    db.spec.template.metadata.labels = { app: "db" };
    db.spec.template.spec.containers[0].volumeMounts = [{ name: "data", mountPath: "/data" }];
    db.spec.volumeClaimTemplates = [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }];
    db.spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: "Delete" };
    const r = await node.kubectlWith(JSON.stringify(db), "apply", "-f", "-");
    expect(r.code).toBe(0);
    const pvcs = await until("the claim bound", async () => {
      const out = await must("get", "pvc", "-n", NS);
      return /^data-db-0\s+Bound\s/m.test(out) && out;
    });
    expect(pvcs.split("\n")[0]!.split(/\s{2,}/)).toEqual(["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"]);
    expect(pvcs).toMatch(/^data-db-0\s+Bound\s+pvc-\S+\s+1Gi\s+RWO\s+local-path\s+<unset>/m);
    const pod = await until("db-0 running", async () => {
      const p = await json("get", "pod", "db-0", "-n", NS);
      return p.status?.phase === "Running" && p;
    });
    expect(pod.spec.volumes.find((v: any) => v.name === "data").persistentVolumeClaim.claimName).toBe("data-db-0");

    // whenDeleted: Delete: the claim is the set's, and goes with it.
    const claim = await json("get", "pvc", "data-db-0", "-n", NS);
    expect(claim.metadata.ownerReferences.map((r: any) => r.kind)).toEqual(["StatefulSet"]);
    await must("delete", "statefulset", "db", "-n", NS);
    await until("the claim gone with the set", async () => (await node.kubectl("get", "pvc", "data-db-0", "-n", NS)).code !== 0);
  });
});
