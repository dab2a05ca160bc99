// ensureDnsAddress against a real kernel, in network namespaces this test creates (prefix bdn-):
// a "node" namespace gets the bramble-dns dummy interface and a DNS server bound to the cluster
// DNS IP on it; a "pod" namespace, wired to the node by a veth pair as a pod is to its bridge,
// resolves a Service name with busybox nslookup. Also the recorder view: the exact commands.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { inNetns, mustRun, runCommand, type CommandRunner } from "../host/run";
import { DNS_INTERFACE, DNS_LO_LABEL, ensureDnsAddress, removeDnsAddress } from "./address";
import { missingFile, notRoot, requirements } from "../../machinery/test-requirements";

const skipKernel = requirements("the DNS address in a real kernel", notRoot("network namespaces"), missingFile("/bin/busybox", "apt-get install busybox-static"));
const tag = `bdn-${process.pid % 100000}`;
const NODE = `${tag}-n`;
const POD = `${tag}-p`;
const DNS_IP = "10.43.0.10";

describe("commands (recorder)", () => {
  test("ensure creates the dummy interface once, replaces stale addresses, brings it up; remove deletes it", async () => {
    const calls: string[] = [];
    let linkExists = false;
    const run: CommandRunner = async (argv) => {
      calls.push(argv.join(" "));
      if (argv.join(" ") === `ip link show dev ${DNS_INTERFACE}`) return { code: linkExists ? 0 : 1, stdout: "", stderr: "" };
      if (argv.includes("-o") && argv.includes(DNS_INTERFACE)) return { code: 0, stdout: `5: ${DNS_INTERFACE}    inet 10.43.0.99/32 scope global ${DNS_INTERFACE}\n`, stderr: "" };
      return { code: 0, stdout: "", stderr: "" };
    };
    await ensureDnsAddress(DNS_IP, run);
    expect(calls).toEqual([
      `ip link show dev ${DNS_INTERFACE}`,
      `ip link add ${DNS_INTERFACE} type dummy`,
      `ip -4 -o addr show dev ${DNS_INTERFACE}`,
      `ip addr del 10.43.0.99/32 dev ${DNS_INTERFACE}`,
      `ip addr replace ${DNS_IP}/32 dev ${DNS_INTERFACE}`,
      `ip link set ${DNS_INTERFACE} up`,
    ]);
    calls.length = 0;
    linkExists = true;
    await removeDnsAddress(run);
    expect(calls).toEqual([`ip link show dev ${DNS_INTERFACE}`, `ip link del ${DNS_INTERFACE}`, `ip -4 -o addr show dev lo label ${DNS_LO_LABEL}`]);
  });

  test("a kernel without the dummy driver gets the address on lo, labelled; remove finds it there", async () => {
    const calls: string[] = [];
    const run: CommandRunner = async (argv) => {
      const cmd = argv.join(" ");
      calls.push(cmd);
      if (cmd.startsWith("ip link show")) return { code: 1, stdout: "", stderr: "Device does not exist" };
      if (cmd.startsWith("ip link add")) return { code: 2, stdout: "", stderr: "Error: Unknown device type." };
      if (cmd.includes("-o addr show dev lo")) return { code: 0, stdout: `1: lo    inet 10.43.0.10/32 scope global ${DNS_LO_LABEL}\n`, stderr: "" };
      return { code: 0, stdout: "", stderr: "" };
    };
    await ensureDnsAddress(DNS_IP, run);
    expect(calls).toEqual([
      `ip link show dev ${DNS_INTERFACE}`,
      `ip link add ${DNS_INTERFACE} type dummy`,
      `ip -4 -o addr show dev lo label ${DNS_LO_LABEL}`,
      `ip addr replace ${DNS_IP}/32 dev lo label ${DNS_LO_LABEL}`,
    ]);
    calls.length = 0;
    await removeDnsAddress(run);
    expect(calls).toEqual([`ip link show dev ${DNS_INTERFACE}`, `ip -4 -o addr show dev lo label ${DNS_LO_LABEL}`, `ip addr del ${DNS_IP}/32 dev lo`]);
  });

  test("a failing ip command is an error naming the command", async () => {
    const run: CommandRunner = async (argv) => (argv[2] === "add" ? { code: 2, stdout: "", stderr: "RTNETLINK answers: Operation not permitted" } : { code: 1, stdout: "", stderr: "" });
    await expect(ensureDnsAddress(DNS_IP, run)).rejects.toThrow(/ip link add bramble-dns type dummy failed.*Operation not permitted/);
  });
});

describe.skipIf(!!skipKernel)("real kernel (network namespaces)", () => {
  const node = inNetns(NODE);
  const pod = inNetns(POD);
  let server: ReturnType<typeof Bun.spawn> | undefined;

  beforeAll(async () => {
    await cleanup();
    await mustRun(runCommand, ["ip", "netns", "add", NODE]);
    await mustRun(runCommand, ["ip", "netns", "add", POD]);
    // The pod's side of a veth in POD, the node's side in NODE: 172.31.254.0/30, made up for this test.
    await mustRun(node, ["ip", "link", "add", "bdn-veth", "type", "veth", "peer", "name", "eth0", "netns", POD]);
    await mustRun(node, ["ip", "addr", "add", "172.31.254.1/30", "dev", "bdn-veth"]);
    await mustRun(node, ["ip", "link", "set", "bdn-veth", "up"]);
    await mustRun(node, ["ip", "link", "set", "lo", "up"]);
    await mustRun(pod, ["ip", "addr", "add", "172.31.254.2/30", "dev", "eth0"]);
    await mustRun(pod, ["ip", "link", "set", "eth0", "up"]);
    await mustRun(pod, ["ip", "link", "set", "lo", "up"]);
    await mustRun(pod, ["ip", "route", "add", "default", "via", "172.31.254.1"]);
  });

  afterAll(async () => {
    server?.kill();
    await server?.exited;
    await cleanup();
  });

  async function cleanup() {
    for (const ns of [NODE, POD]) await runCommand(["ip", "netns", "del", ns]);
  }

  /** The addresses held for the cluster DNS: on the dummy interface, or on lo under our label where the kernel has no dummy driver. */
  async function dnsAddresses(): Promise<string[]> {
    const dummy = await node(["ip", "-4", "-o", "addr", "show", "dev", DNS_INTERFACE]);
    const lo = await node(["ip", "-4", "-o", "addr", "show", "dev", "lo", "label", DNS_LO_LABEL]);
    return [...(dummy.stdout + lo.stdout).matchAll(/inet (\S+)/g)].map((m) => m[1]!);
  }

  test("ensureDnsAddress puts the IP on the node exactly once, idempotently (dummy interface up, or lo)", async () => {
    await ensureDnsAddress(DNS_IP, node);
    await ensureDnsAddress(DNS_IP, node);
    expect(await dnsAddresses()).toEqual([`${DNS_IP}/32`]);
    const link = await node(["ip", "-d", "link", "show", "dev", DNS_INTERFACE]);
    if (link.code === 0) expect(link.stdout).toMatch(/dummy/);
    if (link.code === 0) expect(link.stdout).toMatch(/[<,]UP[,>]/);
    // Local delivery: the kernel routes the IP to this node (table local), whichever interface holds it.
    expect(await mustRun(node, ["ip", "route", "get", DNS_IP])).toMatch(/^local 10\.43\.0\.10 /);
  });

  test("another cluster DNS IP replaces the old one", async () => {
    await ensureDnsAddress("10.43.0.11", node);
    expect(await dnsAddresses()).toEqual(["10.43.0.11/32"]);
    await ensureDnsAddress(DNS_IP, node);
    expect(await dnsAddresses()).toEqual([`${DNS_IP}/32`]);
  });

  test("a pod next door resolves a Service through the cluster DNS IP (busybox nslookup)", async () => {
    server = Bun.spawn(["nsenter", `--net=/var/run/netns/${NODE}`, process.execPath, `${import.meta.dir}/static-serve.ts`, DNS_IP, "53"], { stdout: "pipe", stderr: "inherit" });
    const reader = server.stdout as ReadableStream<Uint8Array>;
    const first = await reader.getReader().read();
    expect(new TextDecoder().decode(first.value)).toContain("listening 53");
    const out = await pod(["/bin/busybox", "nslookup", "web.default.svc.cluster.local", DNS_IP]);
    expect(out.stdout).toContain("Address: 10.43.0.20");
    expect(out.stdout).toMatch(new RegExp(`Server:\\s+${DNS_IP.replaceAll(".", "\\.")}`));
    const miss = await pod(["/bin/busybox", "nslookup", "nope.default.svc.cluster.local", DNS_IP]);
    expect(miss.stdout + miss.stderr).toContain("NXDOMAIN");
  });

  test("removeDnsAddress takes the interface away, and a second call is fine", async () => {
    server?.kill();
    await server?.exited;
    server = undefined;
    await removeDnsAddress(node);
    await removeDnsAddress(node);
    expect((await node(["ip", "link", "show", "dev", DNS_INTERFACE])).code).not.toBe(0);
    expect(await dnsAddresses()).toEqual([]);
    expect(await mustRun(node, ["ip", "-4", "-o", "addr", "show", "dev", "lo"])).toContain("127.0.0.1/8");
  });
});
