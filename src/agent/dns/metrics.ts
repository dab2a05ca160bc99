// Cluster DNS metrics, named as CoreDNS names its own: coredns_dns_requests_total by transport
// (proto udp or tcp) and coredns_dns_responses_total by response code. CoreDNS's other labels
// (server, zone, family, type) are left out: one server and one zone per node here.
import { metrics } from "../../machinery/prometheus";
import type { Handler } from "./listen";

const requests = metrics.counter("coredns_dns_requests_total", "Counter of DNS requests made per protocol.", ["proto"]);
const responses = metrics.counter("coredns_dns_responses_total", "Counter of response status codes.", ["rcode"]);

const RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"].map((r) => responses.child([r]));
const OTHER = responses.child(["other"]);
const UDP = requests.child(["udp"]);
const TCP = requests.child(["tcp"]);

function answered(b: Buffer | undefined): Buffer | undefined {
  if (b && b.length >= 4) (RCODES[b[3]! & 0xf] ?? OTHER).inc();
  return b;
}

/** The handler with every query and every answer's rcode counted. */
export function countedHandler(handle: Handler): Handler {
  return (query, udp) => {
    (udp ? UDP : TCP).inc();
    const out = handle(query, udp);
    return out instanceof Promise ? out.then(answered) : answered(out);
  };
}
