// A cluster DNS with fixed records and no API, run as its own process: the real-kernel test
// starts it inside a network namespace (a process cannot bind in another namespace), and the
// benchmark uses it to keep the load generator and the server apart.
//   bun src/agent/dns/static-serve.ts <address> <port> [services] [upstream ip:port ...]
// Serves web.default.svc.cluster.local → 10.43.0.20 and svc-<i>.default → 10.43.<i>.<i> for
// i < services; prints "listening <port>" once bound.
import type { Service } from "../../api/resources/core/service";
import { createLogger } from "../../machinery/log";
import { AnswerCache, answerQuery } from "./answer";
import { ForwardCache } from "./forward-cache";
import { listenDns } from "./listen";
import { ClusterRecords } from "./records";
import { DEFAULT_RESOLVER_OPTIONS } from "./resolver";
import { Forwarder, parseUpstream } from "./upstream";

const [address = "127.0.0.1", portText = "0", servicesText = "0", ...upstreams] = process.argv.slice(2);
const records = new ClusterRecords("cluster.local");
const svc = (name: string, clusterIP: string) =>
  ({ metadata: { namespace: "default", name }, spec: { clusterIP, ports: [{ name: "http", port: 80, protocol: "TCP" }] } }) as Service;
records.upsertService(svc("web", "10.43.0.20"));
for (let i = 0; i < Number(servicesText); i++) records.upsertService(svc(`svc-${i}`, `10.43.${(i >> 8) & 255}.${i & 255}`));
const forwarder = new Forwarder({ upstreams: upstreams.map(parseUpstream), timeoutMs: 2000, log: createLogger("dns") });
await forwarder.start();
const ctx = { records, forwarder, resolver: DEFAULT_RESOLVER_OPTIONS, cache: new AnswerCache(), forwardCache: new ForwardCache() };
const l = await listenDns(address, Number(portText), (q, udp) => answerQuery(ctx, q, udp));
console.log(`listening ${l.port}`);
process.on("SIGTERM", () => {
  l.close();
  forwarder.close();
  process.exit(0);
});
