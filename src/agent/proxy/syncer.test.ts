// What the syncer sends to iptables-restore, against a recording runner (no root needed).
import { describe, expect, test } from "bun:test";
import type { EndpointSlice } from "../../api/resources/discovery/endpointslice";
import type { Service } from "../../api/resources/core/service";
import type { CommandRunner } from "../host/run";
import { endpointSlice, service } from "./fixtures";
import { renderContext } from "./render";
import { ProxySyncer } from "./syncer";

function setup(existingChains: string[] = [], refuse?: RegExp) {
  const svcs = new Map<string, Service>();
  const eps = new Map<string, EndpointSlice[]>();
  const restores: string[] = [];
  let failNext = false;
  const run: CommandRunner = async (argv, stdin) => {
    if (argv[0] === "iptables-save") return { code: 0, stdout: ["*filter", ":INPUT ACCEPT [0:0]", "COMMIT", "*nat", ...existingChains.map((c) => `:${c} - [0:0]`), "COMMIT", ""].join("\n"), stderr: "" };
    if (argv[0] === "iptables-restore") {
      if (failNext) {
        failNext = false;
        return { code: 1, stdout: "", stderr: "iptables-restore: line 3 failed" };
      }
      // A kernel refusing one kind of rule, saying which line, as iptables-restore does.
      const refusing = refuse;
      const bad = refusing ? (stdin ?? "").split("\n").findIndex((l) => refusing.test(l)) : -1;
      if (bad >= 0) return { code: 2, stdout: "", stderr: `iptables-restore v1.8.9 (nf_tables): unknown option "--bogus"\nError occurred at line: ${bad + 1}\nTry \`iptables-restore -h' or 'iptables-restore --help' for more information.` };
      restores.push(stdin ?? "");
    }
    return { code: 0, stdout: "", stderr: "" };
  };
  for (let i = 0; i < 3; i++) {
    const s = service("default", `s${i}`, `10.43.0.${i + 1}`);
    svcs.set(`default/s${i}`, s);
    eps.set(`default/s${i}`, [endpointSlice("default", `s${i}`, [{ ip: `10.42.0.${i + 1}` }])]);
  }
  const warnings: string[] = [];
  const syncer = new ProxySyncer(run, { services: () => svcs.values(), service: (k) => svcs.get(k), slices: (k) => eps.get(k) }, renderContext({ nodeName: "node-a", cluster: { clusterCidr: "10.42.0.0/16", serviceCidr: "10.43.0.0/16" } }), (m) => warnings.push(m));
  return { svcs, eps, restores, syncer, warnings, fail: () => (failNext = true), stopRefusing: () => (refuse = undefined) };
}

describe("ProxySyncer", () => {
  test("first sync is full and sweeps BRAMBLE- chains it does not render", async () => {
    const s = setup(["BRAMBLE-SVC-OLDOLDOLDOLDOLD1", "BRAMBLE-SERVICES"]);
    const r = await s.syncer.sync();
    expect(r).toMatchObject({ kind: "full", services: 3, staleChains: 1 });
    expect(s.restores[0]).toContain(":BRAMBLE-SVC-OLDOLDOLDOLDOLD1 - [0:0]\n");
    expect(s.restores[0]).toContain("-X BRAMBLE-SVC-OLDOLDOLDOLDOLD1\n");
    expect(s.restores[0]).not.toContain("-X BRAMBLE-SERVICES");
  });

  test("an endpoint change rewrites only that Service's changed chains; the dispatch chain stays", async () => {
    const s = setup();
    await s.syncer.sync();
    s.eps.set("default/s1", [endpointSlice("default", "s1", [{ ip: "10.42.0.2" }, { ip: "10.42.0.9" }])]);
    s.syncer.markDirty("default/s1");
    expect(await s.syncer.sync()).toMatchObject({ kind: "partial", services: 1 });
    const text = s.restores[1]!;
    expect(text).not.toContain("*filter");
    expect(text).not.toContain(":BRAMBLE-SERVICES");
    // Only that Service's SVC chain (new spread); no other Service's.
    expect(text.match(/^:BRAMBLE-\S+/gm)?.map((c) => c.slice(9, 12))).toEqual(["SVC"]);
    expect(text).toContain("10.42.0.9:8080");
    expect(text).not.toContain("10.42.0.1:");
    expect(text).not.toContain("-X ");
  });

  test("no change, no restore", async () => {
    const s = setup();
    await s.syncer.sync();
    s.syncer.markDirty("default/s2");
    expect((await s.syncer.sync()).kind).toBe("none");
    expect(s.restores.length).toBe(1);
  });

  test("a deleted Service: dispatch rewritten without it, its chains flushed and deleted in the same restore", async () => {
    const s = setup();
    await s.syncer.sync();
    s.svcs.delete("default/s0");
    s.syncer.markDirty("default/s0");
    await s.syncer.sync();
    const text = s.restores[1]!;
    expect(text).toContain(":BRAMBLE-SERVICES - [0:0]");
    expect(text).not.toContain("10.43.0.1/32");
    expect(text.match(/^-X BRAMBLE-SVC-\S+$/gm)?.length).toBe(1);
  });

  test("losing the last endpoint moves the Service to a REJECT in filter", async () => {
    const s = setup();
    await s.syncer.sync();
    s.eps.set("default/s1", [endpointSlice("default", "s1", [])]);
    s.syncer.markDirty("default/s1");
    await s.syncer.sync();
    expect(s.restores[1]).toContain('-A BRAMBLE-SERVICES -m comment --comment "default/s1:http has no endpoints" -d 10.43.0.2/32');
    expect(s.restores[1]!.match(/^-X /gm)?.length).toBe(1);
  });

  test("a failed restore throws and makes the next sync full", async () => {
    const s = setup();
    await s.syncer.sync();
    s.eps.set("default/s1", [endpointSlice("default", "s1", [{ ip: "10.42.0.7" }])]);
    s.syncer.markDirty("default/s1");
    s.fail();
    await expect(s.syncer.sync()).rejects.toThrow(/line 3 failed/);
    expect(s.syncer.pending).toBe(true);
    expect((await s.syncer.sync()).kind).toBe("full");
    expect(s.restores.at(-1)).toContain("10.42.0.7:8080");
  });

  test("a Service whose rules the kernel refuses is left out, so the others are programmed; it is retried when it changes", async () => {
    const s = setup([], /default\/s1:http -> 10\.42\.0\.2:8080/);
    await expect(s.syncer.sync()).rejects.toThrow(/Error occurred at line: \d+[\s\S]* — the rule: -A BRAMBLE-SVC-\w+ -m comment --comment "default\/s1:http -> 10.42.0.2:8080"/);
    // Once could be a passing problem: the retry still carries it.
    expect(s.syncer.refused).toEqual([]);
    await expect(s.syncer.sync()).rejects.toThrow(/default\/s1:http -> 10.42.0.2:8080/);
    expect(s.syncer.refused).toEqual(["default/s1"]);
    expect(s.warnings[0]).toContain("left out until it changes");
    expect(await s.syncer.sync()).toMatchObject({ kind: "full", services: 2 });
    expect(s.restores.at(-1)).toContain("default/s0:http");
    expect(s.restores.at(-1)).not.toContain("default/s1:http");
    // Fixed (here: the kernel learns the rule), and the object changes: back in.
    s.stopRefusing();
    s.syncer.markDirty("default/s1");
    expect(await s.syncer.sync()).toMatchObject({ kind: "full", services: 3 });
    expect(s.syncer.refused).toEqual([]);
  });
});
