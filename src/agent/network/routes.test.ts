import { describe, expect, test } from "bun:test";
import type { CommandRunner } from "../host/run";
import { parseBatchFailures, parseRouteJson, planPeerRoutes, syncPeerRoutes } from "./routes";

describe("planPeerRoutes", () => {
  test("adds new peers, re-points moved ones, removes departed ones, keeps the right ones untouched", () => {
    const current = [
      { dst: "10.42.1.0/24", gateway: "192.168.1.11", dev: "eth0" },
      { dst: "10.42.2.0/24", gateway: "192.168.1.99", dev: "eth0" },
      { dst: "10.42.3.0/24", gateway: "192.168.1.13", dev: "eth0" },
    ];
    const desired = [
      { dst: "10.42.1.0/24", via: "192.168.1.11" },
      { dst: "10.42.2.0/24", via: "192.168.1.12" },
      { dst: "10.42.4.0/24", via: "192.168.1.14" },
    ];
    expect(planPeerRoutes(current, desired)).toEqual({
      replace: [
        { dst: "10.42.2.0/24", via: "192.168.1.12" },
        { dst: "10.42.4.0/24", via: "192.168.1.14" },
      ],
      remove: [{ dst: "10.42.3.0/24", gateway: "192.168.1.13", dev: "eth0" }],
    });
  });

  test("bramble's non-gateway routes (the unreachable Service range) are not peer routes", () => {
    expect(planPeerRoutes([{ dst: "10.43.0.0/16", type: "unreachable" }], [])).toEqual({ replace: [], remove: [] });
  });

  test("nothing to do when everything is in place", () => {
    expect(planPeerRoutes([{ dst: "10.42.1.0/24", gateway: "10.0.0.2" }], [{ dst: "10.42.1.0/24", via: "10.0.0.2" }])).toEqual({ replace: [], remove: [] });
  });
});

describe("parseRouteJson", () => {
  test("reads iproute2's JSON; empty output is no routes", () => {
    expect(parseRouteJson("")).toEqual([]);
    expect(parseRouteJson("[]\n")).toEqual([]);
    expect(
      parseRouteJson('[{"dst":"10.42.1.0/24","gateway":"172.31.250.12","dev":"eth-n1","protocol":"98","flags":[]},{"type":"unreachable","dst":"10.43.0.0/16","flags":[]}]'),
    ).toEqual([
      { dst: "10.42.1.0/24", gateway: "172.31.250.12", dev: "eth-n1" },
      { dst: "10.43.0.0/16", type: "unreachable" },
    ]);
  });
});

describe("parseBatchFailures", () => {
  test("the kernel's message for each failed line, by line number", () => {
    const stderr = "Error: Nexthop has invalid gateway.\nCommand failed -:2\nRTNETLINK answers: No such process\nCommand failed -:3\n";
    expect(parseBatchFailures(stderr)).toEqual(
      new Map([
        [2, "Error: Nexthop has invalid gateway."],
        [3, "RTNETLINK answers: No such process"],
      ]),
    );
    expect(parseBatchFailures("")).toEqual(new Map());
  });
});

describe("syncPeerRoutes", () => {
  test("one read and one batch with just the changes; a refused route is reported, the others applied", async () => {
    const calls: { argv: string; stdin?: string }[] = [];
    const run: CommandRunner = async (argv, stdin) => {
      calls.push({ argv: argv.join(" "), stdin });
      if (argv.includes("show")) return { code: 0, stdout: '[{"dst":"10.42.9.0/24","gateway":"10.0.0.9","flags":[]},{"dst":"10.42.2.0/24","gateway":"10.0.0.2","flags":[]}]', stderr: "" };
      return { code: 1, stdout: "", stderr: "Error: Nexthop has invalid gateway.\nCommand failed -:2\n" };
    };
    const r = await syncPeerRoutes(run, [
      { dst: "10.42.1.0/24", via: "203.0.113.1" },
      { dst: "10.42.2.0/24", via: "10.0.0.2" },
      { dst: "10.42.3.0/24", via: "10.0.0.3" },
    ]);
    expect(calls).toEqual([
      { argv: "ip -j -4 route show table main proto 98", stdin: undefined },
      { argv: "ip -force -batch -", stdin: "route del 10.42.9.0/24 proto 98\nroute replace 10.42.1.0/24 via 203.0.113.1 proto 98\nroute replace 10.42.3.0/24 via 10.0.0.3 proto 98\n" },
    ]);
    expect(r.removed).toEqual([{ dst: "10.42.9.0/24", gateway: "10.0.0.9" }]);
    expect(r.replaced).toEqual([{ dst: "10.42.3.0/24", via: "10.0.0.3" }]);
    expect(r.failed).toEqual([{ route: { dst: "10.42.1.0/24", via: "203.0.113.1" }, error: "Error: Nexthop has invalid gateway." }]);
  });

  test("nothing to change: only the read", async () => {
    const calls: string[] = [];
    const run: CommandRunner = async (argv) => (calls.push(argv.join(" ")), { code: 0, stdout: '[{"dst":"10.42.2.0/24","gateway":"10.0.0.2","flags":[]}]', stderr: "" });
    await syncPeerRoutes(run, [{ dst: "10.42.2.0/24", via: "10.0.0.2" }]);
    expect(calls).toEqual(["ip -j -4 route show table main proto 98"]);
  });
});
