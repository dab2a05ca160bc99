// For unit tests: a CommandRunner that plays a node's kernel just far enough for the pod network
// (bramble's routes in main, the rule, ip_forward, iptables jumps and restores), and records
// every command. The real kernel is covered by network.netns.test.ts.
import type { CommandRunner } from "../host/run";

export class FakeHost {
  readonly calls: string[] = [];
  /** dst → route, bramble's proto only. */
  readonly routes = new Map<string, { dst: string; gateway?: string; type?: string }>();
  readonly rules: string[] = [];
  readonly restores: string[] = [];
  readonly jumps = new Set<string>();
  ipForward = "0";
  /** Next hops the "kernel" refuses (not on a connected network). */
  readonly unreachableGateways = new Set<string>();

  readonly run: CommandRunner = async (argv, stdin) => {
    const cmd = argv.join(" ");
    this.calls.push(cmd);
    const ok = (stdout = "") => ({ code: 0, stdout, stderr: "" });
    const fail = (stderr: string) => ({ code: 2, stdout: "", stderr });
    if (argv[0] === "sysctl") return (this.ipForward = argv.at(-1)!.split("=")[1]!), ok();
    if (argv[0] === "iptables" && argv.includes("-C")) return this.jumps.has(argv.at(-1)!) ? ok() : fail("does a matching rule exist in that chain?");
    if (argv[0] === "iptables-restore") {
      this.restores.push(stdin ?? "");
      for (const m of (stdin ?? "").matchAll(/^-I \S+ .* -j (\S+)$/gm)) this.jumps.add(m[1]!);
      return ok();
    }
    if (cmd === "ip -force -batch -") {
      // Each line as its own `ip` command; failures reported the way iproute2 does.
      let stderr = "";
      const lines = (stdin ?? "").split("\n").filter(Boolean);
      for (const [i, line] of lines.entries()) {
        const r = await this.run(["ip", "-4", ...line.split(" ")]);
        if (r.code !== 0) stderr += `${r.stderr}\nCommand failed -:${i + 1}\n`;
      }
      return { code: stderr ? 1 : 0, stdout: "", stderr };
    }
    if (cmd.startsWith("ip -j -4 route show table main")) return ok(JSON.stringify([...this.routes.values()]));
    if (cmd.startsWith("ip -j -4 rule show")) return ok(JSON.stringify(this.rules.map((r) => JSON.parse(r))));
    if (cmd.startsWith("ip -4 rule add")) {
      const [dst, len] = argv[4]!.split("/");
      this.rules.push(JSON.stringify({ priority: Number(argv.at(-1)), dst, dstlen: Number(len), iif: "lo", table: argv[8] }));
      return ok();
    }
    if (cmd.startsWith("ip -4 route replace unreachable")) return this.routes.set(argv[5]!, { dst: argv[5]!, type: "unreachable" }), ok();
    if (cmd.startsWith("ip -4 route replace") && argv.includes("via")) {
      const [dst, via] = [argv[4]!, argv[6]!];
      if (this.unreachableGateways.has(via)) return fail("Error: Nexthop has invalid gateway.");
      return this.routes.set(dst, { dst, gateway: via }), ok();
    }
    if (cmd.startsWith("ip -4 route del")) {
      const dst = argv[4] === "unreachable" ? argv[5]! : argv[4]!;
      return this.routes.delete(dst) ? ok() : fail("RTNETLINK answers: No such process");
    }
    return ok();
  };

  peerRoutes(): Record<string, string> {
    return Object.fromEntries([...this.routes.values()].filter((r) => r.gateway).map((r) => [r.dst, r.gateway!]));
  }
}
