// Deployments across processes with the real kubectl: create, rollout status, set image,
// history, undo (back to the first ReplicaSet, revision bumped), pause/resume, restart, scale;
// and a server restarted mid-rollout finishing it without duplicate or lost pods.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { condition, deployment, eventually, isRunning, kubectlFor, startSim, stopAllSims } from "./helpers/cluster";
import { startTestServer, type TestServer } from "./helpers/server";

setDefaultTimeout(60_000);

let s: TestServer;
let k: ReturnType<typeof kubectlFor>["k"];
let kj: ReturnType<typeof kubectlFor>["kj"];
let apply: ReturnType<typeof kubectlFor>["apply"];
let pods: ReturnType<typeof kubectlFor>["pods"];

beforeAll(async () => {
  s = await startTestServer({ args: ["--disable-agent"] });
  ({ k, kj, apply, pods } = kubectlFor(s));
  startSim(s, { nodes: 3, cpu: "8", memory: "16Gi", prefix: "w" });
  await eventually("3 Ready nodes", async () => {
    const nodes = (await kj("get", "nodes")).items;
    return nodes.length === 3 && nodes.every((x: any) => condition(x, "Ready")?.status === "True");
  }, { timeoutMs: 30_000 });
}, 60_000);

afterAll(async () => {
  await stopAllSims();
  await s?.cleanup();
});

const REV = "deployment.kubernetes.io/revision";

/** The Deployment's ReplicaSets (by the controller's ownerReference), oldest first. */
async function replicaSets(name: string): Promise<any[]> {
  const dep = await kj("get", "deploy", name);
  const all = (await kj("get", "rs")).items as any[];
  return all
    .filter((rs) => rs.metadata.ownerReferences?.some((o: any) => o.controller && o.uid === dep.metadata.uid))
    .sort((a, b) => Number(a.metadata.annotations?.[REV] ?? 0) - Number(b.metadata.annotations?.[REV] ?? 0));
}

async function rolloutStatus(name: string, timeoutS = 45): Promise<string> {
  const r = await s.kubectlWith({ timeoutMs: (timeoutS + 5) * 1000 }, "rollout", "status", `deployment/${name}`, `--timeout=${timeoutS}s`);
  if (r.code !== 0) {
    const state = await s.kubectl("get", "deploy,rs,pods", "-o", "wide");
    const dep = await s.kubectl("get", "deploy", name, "-o", "yaml");
    // The whole server log (all its runs) is kept for a post-mortem.
    const logFile = join(tmpdir(), `bramble-rollout-${name}-${Date.now()}.log`);
    writeFileSync(logFile, s.log);
    throw new Error(`rollout status failed (${r.code}):\n${r.stderr}\n${r.stdout}\n${state.stdout}\n${dep.stdout}\nserver log: ${logFile}; tail:\n${s.log.slice(-8000)}`);
  }
  expect(r.stdout).toContain(`deployment "${name}" successfully rolled out`);
  return r.stdout;
}

/** Waits until exactly `n` live pods of `selector` run, all from the ReplicaSet with `hash`. */
async function podsSettled(selector: string, n: number, hash: string) {
  return eventually(`${n} Running pods with hash ${hash}`, async () => {
    const ps = (await pods(selector)).filter((p) => !p.metadata.deletionTimestamp);
    return ps.length === n && ps.every((p) => isRunning(p) && p.metadata.labels["pod-template-hash"] === hash) ? ps : undefined;
  });
}

const hashOf = (rs: any) => rs.metadata.labels["pod-template-hash"];
const image = (obj: any) => obj.spec.template.spec.containers[0].image;

describe("rollout with kubectl", () => {
  test("create deployment and rollout status", async () => {
    expect(await k("create", "deployment", "web", "--image=nginx:1.26", "--replicas=3")).toContain("deployment.apps/web created");
    await rolloutStatus("web");
    const rss = await replicaSets("web");
    expect(rss.length).toBe(1);
    expect(rss[0].metadata.annotations[REV]).toBe("1");
    await podsSettled("app=web", 3, hashOf(rss[0]));
    const dep = await kj("get", "deploy", "web");
    expect(dep.status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(condition(dep, "Available")?.status).toBe("True");
    expect(condition(dep, "Progressing")?.reason).toBe("NewReplicaSetAvailable");
  });

  test("set image rolls to a second ReplicaSet; history lists both revisions", async () => {
    expect(await k("set", "image", "deployment/web", "nginx=nginx:1.27")).toContain("deployment.apps/web image updated");
    await rolloutStatus("web");
    const rss = await replicaSets("web");
    expect(rss.length).toBe(2);
    expect(rss.map((r) => [r.metadata.annotations[REV], image(r), r.spec.replicas])).toEqual([
      ["1", "nginx:1.26", 0],
      ["2", "nginx:1.27", 3],
    ]);
    await podsSettled("app=web", 3, hashOf(rss[1]));
    const history = await k("rollout", "history", "deployment/web");
    expect(history).toMatch(/REVISION\s+CHANGE-CAUSE/);
    expect(history).toMatch(/^1\s+<none>$/m);
    expect(history).toMatch(/^2\s+<none>$/m);
    expect(await k("rollout", "history", "deployment/web", "--revision=1")).toContain("nginx:1.26");
  });

  test("rollout undo goes back to the first ReplicaSet with a new revision", async () => {
    const [first] = await replicaSets("web");
    expect(await k("rollout", "undo", "deployment/web")).toContain("deployment.apps/web rolled back");
    await rolloutStatus("web");
    const rss = await replicaSets("web");
    expect(rss.length).toBe(2);
    // The first ReplicaSet is reused (same name, same hash), now revision 3 with all replicas.
    const reused = rss.find((r) => r.metadata.name === first.metadata.name)!;
    expect(reused.metadata.annotations[REV]).toBe("3");
    expect(reused.spec.replicas).toBe(3);
    expect(rss.find((r) => r !== reused)!.spec.replicas).toBe(0);
    expect(image(await kj("get", "deploy", "web"))).toBe("nginx:1.26");
    expect((await kj("get", "deploy", "web")).metadata.annotations[REV]).toBe("3");
    await podsSettled("app=web", 3, hashOf(first));
    const history = await k("rollout", "history", "deployment/web");
    expect(history).not.toMatch(/^1\s/m);
    expect(history).toMatch(/^2\s/m);
    expect(history).toMatch(/^3\s/m);
  });

  test("rollout pause: a template change makes no new ReplicaSet until resume", async () => {
    expect(await k("rollout", "pause", "deployment/web")).toContain("deployment.apps/web paused");
    await k("set", "image", "deployment/web", "nginx=nginx:1.28");
    // Give the controller every chance to (wrongly) act, then check nothing rolled.
    await eventually("the controller to observe the paused generation", async () => {
      const d = await kj("get", "deploy", "web");
      return d.status.observedGeneration === d.metadata.generation;
    });
    await Bun.sleep(1_000);
    let rss = await replicaSets("web");
    expect(rss.length).toBe(2);
    expect(rss.some((r) => image(r) === "nginx:1.28")).toBe(false);
    const paused = await kj("get", "deploy", "web");
    expect(condition(paused, "Progressing")?.reason).toBe("DeploymentPaused");

    expect(await k("rollout", "resume", "deployment/web")).toContain("deployment.apps/web resumed");
    await rolloutStatus("web");
    rss = await replicaSets("web");
    const current = rss.find((r) => image(r) === "nginx:1.28");
    expect(current?.spec.replicas).toBe(3);
    expect(current?.metadata.annotations[REV]).toBe("4");
    await podsSettled("app=web", 3, hashOf(current));
  });

  test("rollout restart replaces every pod through a new ReplicaSet", async () => {
    const before = new Set((await pods("app=web")).map((p) => p.metadata.name));
    expect(await k("rollout", "restart", "deployment/web")).toContain("deployment.apps/web restarted");
    await rolloutStatus("web");
    const dep = await kj("get", "deploy", "web");
    expect(dep.spec.template.metadata.annotations?.["kubectl.kubernetes.io/restartedAt"]).toBeDefined();
    const rss = await replicaSets("web");
    const current = rss.find((r) => r.metadata.annotations[REV] === dep.metadata.annotations[REV])!;
    expect(current.spec.replicas).toBe(3);
    expect(rss.filter((r) => r !== current).every((r) => r.spec.replicas === 0)).toBe(true);
    const after = await podsSettled("app=web", 3, hashOf(current));
    expect(after.some((p) => before.has(p.metadata.name))).toBe(false);
  });

  test("kubectl scale up and down", async () => {
    expect(await k("scale", "deployment/web", "--replicas=5")).toContain("deployment.apps/web scaled");
    await rolloutStatus("web");
    const hash = hashOf((await replicaSets("web")).find((r) => r.spec.replicas > 0));
    await podsSettled("app=web", 5, hash);
    await k("scale", "deployment/web", "--replicas=2");
    await podsSettled("app=web", 2, hash);
    const dep = await kj("get", "deploy", "web");
    await eventually("status 2/2", async () => {
      const d = await kj("get", "deploy", "web");
      return d.status.replicas === 2 && d.status.availableReplicas === 2;
    });
    expect((await replicaSets("web")).filter((r) => r.spec.replicas > 0).length).toBe(1);
    expect(dep.spec.replicas).toBe(2);
  });
});

describe("more rollout behaviour", () => {
  test("rollout undo --to-revision picks that revision", async () => {
    await k("create", "deployment", "hist", "--image=nginx:1.25", "--replicas=2");
    await rolloutStatus("hist");
    for (const v of ["1.26", "1.27"]) {
      await k("set", "image", "deployment/hist", `nginx=nginx:${v}`);
      await rolloutStatus("hist");
    }
    expect(await k("rollout", "undo", "deployment/hist", "--to-revision=2")).toContain("rolled back");
    await rolloutStatus("hist");
    const dep = await kj("get", "deploy", "hist");
    expect(image(dep)).toBe("nginx:1.26");
    expect(dep.metadata.annotations[REV]).toBe("4");
    const rss = await replicaSets("hist");
    expect(rss.length).toBe(3);
    const active = rss.filter((r) => r.spec.replicas > 0);
    expect(active.map(image)).toEqual(["nginx:1.26"]);
    await podsSettled("app=hist", 2, hashOf(active[0]));
    const r = await s.kubectl("rollout", "undo", "deployment/hist", "--to-revision=9");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("unable to find specified revision 9 in history");
  });

  test("Recreate: the old pods are gone before the new ones start", async () => {
    await apply(deployment("recreate", { replicas: 3, image: "nginx:1.26", extraSpec: "  strategy:\n    type: Recreate\n" }));
    await rolloutStatus("recreate");
    const [v1] = await replicaSets("recreate");
    let mixed = false;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const r = await s.kubectl("get", "pods", "-l", "app=recreate", "-o", "json");
        if (r.code === 0) {
          const hashes = new Set(JSON.parse(r.stdout).items.map((p: any) => p.metadata.labels["pod-template-hash"]));
          if (hashes.size > 1) mixed = true;
        }
        await Bun.sleep(50);
      }
    })();
    try {
      await k("set", "image", "deployment/recreate", "main=nginx:1.27");
      await rolloutStatus("recreate");
    } finally {
      watching = false;
      await watcher;
    }
    const v2 = (await replicaSets("recreate")).find((r) => r.metadata.name !== v1.metadata.name)!;
    await podsSettled("app=recreate", 3, hashOf(v2));
    expect(mixed).toBe(false);
  });

  test("a rollout that cannot progress: rollout status reports the exceeded progress deadline", async () => {
    await apply(deployment("stuck", { replicas: 2, cpu: "100", extraSpec: "  progressDeadlineSeconds: 3\n" }));
    const r = await s.kubectlWith({ timeoutMs: 50_000 }, "rollout", "status", "deployment/stuck", "--timeout=40s");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`deployment "stuck" exceeded its progress deadline`);
    const dep = await kj("get", "deploy", "stuck");
    expect(condition(dep, "Progressing")).toMatchObject({ status: "False", reason: "ProgressDeadlineExceeded" });
    expect(condition(dep, "Available")?.status).toBe("False");
    // The pods wait, unschedulable, and the ReplicaSet does not churn them.
    const ps = await pods("app=stuck");
    expect(ps.length).toBe(2);
    expect(ps.every((p) => condition(p, "PodScheduled")?.reason === "Unschedulable")).toBe(true);
    // Scaling it down removes those pending pods.
    await k("scale", "deployment/stuck", "--replicas=0");
    await eventually("no stuck pods", async () => (await pods("app=stuck")).length === 0);
  });
});

describe("server restart mid-rollout", () => {
  test("SIGTERM and start again during a rolling update: it completes with exact counts", async () => {
    const replicas = 6;
    const strategy = `  minReadySeconds: 2
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
`;
    await apply(deployment("slow", { replicas, image: "nginx:1.26", extraSpec: strategy }));
    await rolloutStatus("slow");
    const [v1] = await replicaSets("slow");

    // Watch the pod count all along: never more than replicas + maxSurge live pods.
    let maxLive = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const r = await s.kubectl("get", "pods", "-l", "app=slow", "-o", "json");
        if (r.code === 0) {
          const live = JSON.parse(r.stdout).items.filter((p: any) => !p.metadata.deletionTimestamp).length;
          maxLive = Math.max(maxLive, live);
        }
        await Bun.sleep(150);
      }
    })();

    try {
      await k("set", "image", "deployment/slow", "main=nginx:1.27");
      // Mid-rollout: the new ReplicaSet has some replicas, not all.
      await eventually("the rollout half way", async () => {
        const rss = await replicaSets("slow");
        const v2 = rss.find((r) => image(r) === "nginx:1.27");
        return v2 && (v2.status?.availableReplicas ?? 0) >= 1 && v2.spec.replicas < replicas;
      });
      expect(await s.stop()).toBe(0);
      await s.restart();

      await rolloutStatus("slow");
      const rss = await replicaSets("slow");
      expect(rss.length).toBe(2);
      const v2 = rss.find((r) => r.metadata.name !== v1.metadata.name)!;
      expect(image(v2)).toBe("nginx:1.27");
      expect(v2.spec.replicas).toBe(replicas);
      expect(rss.find((r) => r === v1 || r.metadata.name === v1.metadata.name)!.spec.replicas).toBe(0);
      await podsSettled("app=slow", replicas, hashOf(v2));
      // Settled, and stays settled: no stray extra pod shows up late.
      await Bun.sleep(1_000);
      const live = (await pods("app=slow")).filter((p) => !p.metadata.deletionTimestamp);
      expect(live.length).toBe(replicas);
      expect(new Set(live.map((p) => p.metadata.name)).size).toBe(replicas);
      const d = await kj("get", "deploy", "slow");
      expect(d.status).toMatchObject({ replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas });
    } finally {
      watching = false;
      await watcher;
    }
    expect(maxLive).toBeLessThanOrEqual(replicas + 1);
  }, 100_000);
});

describe("server killed mid-rollout", () => {
  test("kill -9 during a rolling update with a scale-up, start again: exact counts, one active ReplicaSet", async () => {
    const replicas = 30;
    await apply(deployment("slow2", { replicas: 6, image: "nginx:1.26" }));
    await rolloutStatus("slow2");
    // One change: new image, 5x the replicas, bigger surge steps (so it finishes in seconds).
    const patch = {
      spec: {
        replicas,
        minReadySeconds: 1,
        strategy: { rollingUpdate: { maxSurge: "25%" } },
        template: { spec: { containers: [{ name: "main", image: "nginx:1.28" }] } },
      },
    };
    await k("patch", "deployment/slow2", "--type=strategic", "-p", JSON.stringify(patch));
    await eventually("the 1.28 ReplicaSet started", async () => {
      const v3 = (await replicaSets("slow2")).find((r) => image(r) === "nginx:1.28");
      return v3 && (v3.status?.replicas ?? 0) >= 1;
    });
    await s.kill();
    await s.restart();
    // The killed server's controller Lease has to expire before the new one leads.
    await rolloutStatus("slow2", 85);
    const rss = await replicaSets("slow2");
    const active = rss.filter((x) => x.spec.replicas > 0);
    expect(active.length).toBe(1);
    expect(image(active[0])).toBe("nginx:1.28");
    expect(active[0].spec.replicas).toBe(replicas);
    await podsSettled("app=slow2", replicas, hashOf(active[0]));
    await Bun.sleep(1_000);
    expect((await pods("app=slow2")).filter((p) => !p.metadata.deletionTimestamp).length).toBe(replicas);
    const d = await kj("get", "deploy", "slow2");
    expect(d.status).toMatchObject({ replicas, updatedReplicas: replicas, availableReplicas: replicas });
  }, 110_000);
});
