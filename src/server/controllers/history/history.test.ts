import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiError } from "../../../api/errors";
import type { ControllerRevision } from "../../../api/resources/apps/controllerrevision";
import { daemonSets, type DaemonSet } from "../../../api/resources/apps/daemonset";
import { selectorMatches } from "../../../api/resources/common";
import { eventually, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { SharedInformers } from "../informers";
import {
  CONTROLLER_REVISION_HASH,
  equalRevision,
  fnv32,
  hashRevisionData,
  newRevision,
  nextRevisionNumber,
  REVISION_HASH_LABEL,
  revisionName,
  RevisionHistory,
  sortRevisions,
  templatePatch,
  type RevisionOwner,
} from ".";

const rev = (name: string, revision: number, created = "2026-01-01T00:00:00Z", data: Record<string, unknown> = {}): ControllerRevision => ({
  metadata: { name, creationTimestamp: created },
  data,
  revision,
});

describe("pure helpers", () => {
  test("FNV-1 (not 1a) as upstream's fnv.New32; hashes differ by data and collision count", () => {
    // Reference values of the 32-bit FNV-1 hash.
    expect(fnv32(new TextEncoder().encode(""))).toBe(0x811c9dc5);
    expect(fnv32(new TextEncoder().encode("a"))).toBe(0x050c5d7e);
    const a = hashRevisionData({ spec: { x: 1 } });
    expect(a).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(hashRevisionData({ spec: { x: 1 } })).toBe(a);
    expect(hashRevisionData({ spec: { x: 2 } })).not.toBe(a);
    expect(hashRevisionData({ spec: { x: 1 } }, 1)).not.toBe(a);
    // Key order does not matter: the data is hashed in canonical form.
    expect(hashRevisionData({ b: 1, a: 2 })).toBe(hashRevisionData({ a: 2, b: 1 }));
  });

  test("templatePatch replaces the whole template; names are <owner>-<hash> with the prefix cut", () => {
    expect(templatePatch({ metadata: { labels: { a: "b" } } })).toEqual({ spec: { template: { metadata: { labels: { a: "b" } }, $patch: "replace" } } });
    expect(revisionName("web", "abc")).toBe("web-abc");
    expect(revisionName("x".repeat(300), "h").length).toBe(225);
  });

  test("newRevision: name, hash label, template labels, controller reference; a custom hash and label", () => {
    const owner: RevisionOwner = { apiVersion: "apps/v1", kind: "StatefulSet", obj: { metadata: { name: "web", namespace: "ns", uid: "u1" } } };
    const r = newRevision(owner, { data: { spec: 1 }, revision: 3, labels: { app: "web" } });
    const hash = hashRevisionData({ spec: 1 });
    expect(r.metadata).toMatchObject({ name: `web-${hash}`, namespace: "ns", labels: { app: "web", [REVISION_HASH_LABEL]: hash } });
    expect(r.metadata.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "u1", controller: true, blockOwnerDeletion: true }]);
    expect(r.revision).toBe(3);
    const ds = newRevision(owner, { data: {}, revision: 1, hashLabel: CONTROLLER_REVISION_HASH, hash: (c) => `h${c ?? 0}` }, 2);
    expect(ds.metadata.name).toBe("web-h2");
    expect(ds.metadata.labels).toEqual({ [CONTROLLER_REVISION_HASH]: "h2" });
  });

  test("ordering, equality and the next number", () => {
    const revs = [rev("c", 2), rev("b", 1, "2026-01-02T00:00:00Z"), rev("a", 1, "2026-01-02T00:00:00Z"), rev("z", 1)];
    expect(sortRevisions(revs).map((r) => r.metadata.name)).toEqual(["z", "a", "b", "c"]);
    expect(nextRevisionNumber(revs)).toBe(3);
    expect(nextRevisionNumber([])).toBe(1);
    const x = rev("x", 1, undefined, { a: 1 });
    expect(equalRevision(x, rev("y", 5, undefined, { a: 1 }))).toBe(true);
    expect(equalRevision(x, rev("y", 5, undefined, { a: 2 }))).toBe(false);
    const labelled = (h: string) => ({ ...x, metadata: { ...x.metadata, labels: { [REVISION_HASH_LABEL]: h } } });
    expect(equalRevision(labelled("h1"), labelled("h2"))).toBe(false);
  });
});

describe("RevisionHistory against the API", () => {
  let env: ControllerTestEnv;
  let shared: SharedInformers;
  let history: RevisionHistory;
  let owner: RevisionOwner;
  beforeAll(async () => {
    env = await startControllerTestEnv();
    shared = new SharedInformers(env.client);
    history = new RevisionHistory(env.client, RevisionHistory.informer(shared), shared);
    await shared.start(history.informer);
    const ds = await env.client.resource<DaemonSet>(daemonSets).create("default", {
      metadata: { name: "agent" },
      spec: { selector: { matchLabels: { app: "agent" } }, template: { metadata: { labels: { app: "agent" } }, spec: { containers: [{ name: "c", image: "a:1" }] } } },
    });
    owner = { apiVersion: "apps/v1", kind: "DaemonSet", obj: ds };
  });
  afterAll(async () => {
    shared.stop();
    await env.stop();
  });

  test("create: the same data twice is one revision; a foreign holder of the name bumps the collision count", async () => {
    const spec = { data: templatePatch({ x: 1 }), revision: 1, labels: { app: "agent" } };
    const first = await history.create(owner, spec);
    expect(first.collisionCount).toBeUndefined();
    const again = await history.create(owner, spec);
    expect(again.revision.metadata.uid).toBe(first.revision.metadata.uid);

    // Someone else's revision sits where our next one would be named.
    const other = { data: templatePatch({ x: 2 }), revision: 2, labels: { app: "agent" } };
    const squatter = newRevision({ ...owner, obj: { metadata: { ...owner.obj.metadata, uid: "someone-else" } } }, other);
    await history.client.create("default", { ...squatter, metadata: { ...squatter.metadata, ownerReferences: undefined, labels: { other: "x" } } });
    const bumped = await history.create(owner, other);
    expect(bumped.collisionCount).toBe(1);
    expect(bumped.revision.metadata.name).toBe(`agent-${hashRevisionData(other.data, 1)}`);
  });

  test("claim adopts selected orphans, leaves others; controlledBy; renumber; truncate skips live ones", async () => {
    await history.client.create("default", { metadata: { name: "orphan", labels: { app: "agent" } }, data: { o: 1 }, revision: 7 });
    await eventually(() => history.informer.get("default/orphan"), "orphan cached");
    const claimed = await history.claim(owner, (l) => selectorMatches({ matchLabels: { app: "agent" } }, l), async () => true);
    expect(claimed.some((r) => r.metadata.name === "orphan")).toBe(true);
    expect(claimed.some((r) => r.metadata.labels?.other)).toBe(false);
    await eventually(() => history.controlledBy(owner.obj).length === 3, "three controlled");

    const [oldest] = sortRevisions(history.controlledBy(owner.obj));
    const renumbered = await history.setRevisionNumber(oldest, 9);
    expect(renumbered.revision).toBe(9);
    await eventually(() => history.informer.get(`default/${oldest.metadata.name}`)?.revision === 9, "renumber cached");

    const sorted = sortRevisions(history.controlledBy(owner.obj));
    const deleted = await history.truncate(sorted, 2, (r) => r.metadata.name === sorted[0].metadata.name);
    expect(deleted).toBe(2);
    await eventually(() => history.controlledBy(owner.obj).length === 1, "truncated");
    expect(history.controlledBy(owner.obj)[0].metadata.name).toBe(sorted[0].metadata.name);
  });

  test("the API keeps data immutable and revision non-negative", async () => {
    const r = (await history.client.list("default")).items[0];
    const err = await history.client.patch("default", r.metadata.name!, { data: { changed: true } }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe(422);
    expect(err.message).toContain("data: Invalid value");
    expect(err.message).toContain("field is immutable");
    const neg = await history.client.create("default", { metadata: { name: "neg" }, data: {}, revision: -1 }).catch((e) => e);
    expect(neg.code).toBe(422);
    expect(neg.message).toContain("revision: Invalid value: -1: must be greater than or equal to 0");
    const none = await history.client.create("default", { metadata: { name: "none" }, revision: 1 }).catch((e) => e);
    expect(none.code).toBe(422);
    expect(none.message).toContain("data: Required value: data is mandatory");
  });
});
