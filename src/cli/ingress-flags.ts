// The ports of the ingress controller every node runs, taken by `bramble agent` and (for its
// embedded agent) `bramble server`. 80 and 443 by default; other ports for machines where those
// are taken, and for tests.
import type { IngressPorts } from "../agent/networking";
import { FlagError, stringFlag, type RawFlags } from "./flags";
import type { FlagSpec } from "./server";

export const INGRESS_FLAGS: FlagSpec[] = [
  { name: "ingress-http-port", value: "<port>", description: "Port the built-in ingress controller serves HTTP on (default: 80; 0: any free port)" },
  { name: "ingress-https-port", value: "<port>", description: "Port the built-in ingress controller serves HTTPS on (default: 443; 0: any free port)" },
];

function port(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new FlagError(flag, `"${text}" is not a port (0-65535)`);
  return Number(text);
}

export function ingressPortsFromFlags(raw: RawFlags): IngressPorts {
  return { httpPort: port("ingress-http-port", stringFlag(raw, "ingress-http-port")), httpsPort: port("ingress-https-port", stringFlag(raw, "ingress-https-port")) };
}
