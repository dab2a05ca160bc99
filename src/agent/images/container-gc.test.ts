import { expect, test } from "bun:test";
import { LABELS, type ContainerInfo } from "../runtime/runtime";
import { deadContainersToRemove } from "./container-gc";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
function c(id: string, pod: string, name: string, attempt: number, o: { state?: ContainerInfo["state"]; kind?: string; finishedAt?: number; node?: string } = {}): ContainerInfo {
  return {
    id,
    name: id,
    image: "img",
    imageId: "sha256:x",
    state: o.state ?? "exited",
    createdAt: at(attempt),
    finishedAt: (o.state ?? "exited") === "exited" ? at(o.finishedAt ?? attempt + 1) : undefined,
    ips: {},
    labels: { [LABELS.podUid]: pod, [LABELS.container]: name, [LABELS.kind]: o.kind ?? "app", [LABELS.restartCount]: String(attempt), "io.bramble.node": o.node ?? "n1" },
  };
}
const owns = (l: Record<string, string>) => l["io.bramble.node"] === "n1";
const ids = (list: ContainerInfo[]) => list.map((x) => x.id).sort();

test("the newest dead attempt per pod container stays; older dead ones go", () => {
  const list = [c("a2", "p", "web", 2), c("a1", "p", "web", 1), c("a0", "p", "web", 0), c("s0", "p", "side", 0), c("i0", "p", "init", 0, { kind: "init" })];
  expect(ids(deadContainersToRemove(list, { owns, now: T0 + 3600_000 }))).toEqual(["a0", "a1"]);
});

test("running and created containers, live pods' sandboxes and other nodes' containers are never candidates", () => {
  const list = [
    c("run", "p", "web", 3, { state: "running" }),
    c("new", "p", "web", 4, { state: "created" }),
    c("sb1", "p", "POD", 1, { kind: "pause" }),
    c("sb0", "p", "POD", 0, { kind: "pause" }),
    c("x1", "q", "web", 1, { node: "n2" }),
    c("x0", "q", "web", 0, { node: "n2" }),
  ];
  expect(deadContainersToRemove(list, { owns, now: T0 + 3600_000 })).toEqual([]);
});

test("a pod that is over loses all its dead containers, sandbox included", () => {
  const list = [c("j0", "done", "job", 0), c("sb", "done", "POD", 0, { kind: "pause" }), c("l0", "live", "web", 0)];
  expect(ids(deadContainersToRemove(list, { owns, podIsTerminal: (uid) => uid === "done", now: T0 + 3600_000 }))).toEqual(["j0", "sb"]);
});

test("a container dead for less than the minimum age stays", () => {
  const list = [c("a1", "p", "web", 1, { finishedAt: 100 }), c("a0", "p", "web", 0, { finishedAt: 50 })];
  expect(deadContainersToRemove(list, { owns, minimumAgeMs: 60_000, now: T0 + 100_000 })).toEqual([]);
  expect(ids(deadContainersToRemove(list, { owns, minimumAgeMs: 60_000, now: T0 + 111_000 }))).toEqual(["a0"]);
});
