// The DNS benchmark's stand-in upstream when dnsmasq is not installed: answers every A question
// with 192.0.2.1 (src/agent/dns/testing.ts). Prints "listening <port>".
//   bun scripts/bench/lib/dns-fake-upstream.ts <address> <port>
import { startFakeUpstream } from "../../../src/agent/dns/testing.ts";

const [address = "127.0.0.1", port = "0"] = process.argv.slice(2);
const up = await startFakeUpstream(address, Number(port));
console.log(`listening ${up.port}`);
process.on("SIGTERM", () => (up.close(), process.exit(0)));
