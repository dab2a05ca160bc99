// How pods find the API server, as upstream: the `kubernetes` Service in default holds the
// first address of the service range (10.43.0.1) and port 443 (named https, targetPort the API
// server's port), its Endpoints hold the server's advertise address and port, and every
// container's KUBERNETES_* variables describe that Service. A real pod on a real Docker engine
// (a server in a network namespace of its own, with the agent's iptables proxy) calls the API
// at $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT and at kubernetes.default.svc.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { checkServerIdentity, connect, type PeerCertificate } from "node:tls";
import { netnsServerSkipReason, startNetnsServer, type NetnsServer } from "./helpers/netns-server";

setDefaultTimeout(90_000);

describe.skipIf(!!netnsServerSkipReason)("the kubernetes Service and the variables pods get for it", () => {
  let node: NetnsServer;
  const json = async (...args: string[]) => {
    const r = await node.kubectl(...args, "-o", "json");
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    node = await startNetnsServer("kubesvc");
  }, 180_000);

  afterAll(async () => {
    await node?.destroy();
  }, 120_000);

  test("the Service has the first service address and port 443; its Endpoints and EndpointSlice are the API server's address and port", async () => {
    const svc = await json("get", "service", "kubernetes", "-n", "default");
    expect(svc.spec.clusterIP).toBe("10.43.0.1");
    expect(svc.spec.ports).toEqual([{ name: "https", port: 443, protocol: "TCP", targetPort: node.port }]);
    const ep = await json("get", "endpoints", "kubernetes", "-n", "default");
    expect(ep.subsets).toEqual([{ addresses: [{ ip: node.ip }], ports: [{ name: "https", port: node.port, protocol: "TCP" }] }]);
    // Its EndpointSlice (what the Service proxy reads), written by the API server as upstream's.
    const slice = await json("get", "endpointslice", "kubernetes", "-n", "default");
    expect(slice.metadata.labels).toEqual({ "kubernetes.io/service-name": "kubernetes" });
    expect(slice.endpoints).toEqual([{ addresses: [node.ip], conditions: { ready: true } }]);
    expect(slice.ports).toEqual([{ name: "https", port: node.port, protocol: "TCP" }]);
  });

  test("a pod's KUBERNETES_* variables name the Service, and the API answers it there with 200", async () => {
    const dir = "/var/run/secrets/kubernetes.io/serviceaccount";
    // busybox wget speaks TLS through its ssl_client applet, which it runs from PATH; it cannot
    // check the certificate against ca.crt (the next test checks the certificate's names).
    const call = (key: string, url: string) =>
      `wget -S --no-check-certificate --header "Authorization: Bearer $(cat ${dir}/token)" -O /tmp/${key} "${url}" 2>&1 | grep -o "HTTP/1.1 [0-9]* [A-Za-z]*" | sed "s/^/${key}=/"; echo "${key}-kind=$(grep -o '"kind":"[A-Za-z]*"' /tmp/${key} | head -n 1)"`;
    const script = [
      "busybox mkdir -p /tmp/bin && busybox ln -sf /bin/busybox /tmp/bin/ssl_client && export PATH=/tmp/bin:$PATH",
      "env | grep ^KUBERNETES_ | sed 's/^/env:/'",
      call("by-env", "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/default/services/kubernetes"),
      call("by-name", "https://kubernetes.default.svc/api/v1/namespaces/default/services/kubernetes"),
    ].join("; ");
    const { pod, log, line } = await node.runScriptPod("env-reader", script);
    expect(pod.status.phase).toBe("Succeeded");

    const env = Object.fromEntries(log.split("\n").filter((l) => l.startsWith("env:")).map((l) => l.slice(4).split(/=(.*)/s).slice(0, 2)));
    expect(env).toEqual({
      KUBERNETES_SERVICE_HOST: "10.43.0.1",
      KUBERNETES_SERVICE_PORT: "443",
      KUBERNETES_SERVICE_PORT_HTTPS: "443",
      KUBERNETES_PORT: "tcp://10.43.0.1:443",
      KUBERNETES_PORT_443_TCP: "tcp://10.43.0.1:443",
      KUBERNETES_PORT_443_TCP_PROTO: "tcp",
      KUBERNETES_PORT_443_TCP_PORT: "443",
      KUBERNETES_PORT_443_TCP_ADDR: "10.43.0.1",
    });
    expect(line("by-env")).toBe("HTTP/1.1 200 OK");
    expect(line("by-env-kind")).toBe('"kind":"Service"');
    expect(line("by-name")).toBe("HTTP/1.1 200 OK");
    expect(line("by-name-kind")).toBe('"kind":"Service"');
  });

  test("the serving certificate, checked against the cluster CA, covers the Service's address and names", async () => {
    const cert = await new Promise<PeerCertificate>((resolve, reject) => {
      // Verified against the cluster CA; the names are checked one by one below.
      const socket = connect({ host: node.ip, port: node.port, ca: node.ca(), checkServerIdentity: () => undefined }, () => {
        const c = socket.getPeerCertificate();
        socket.end();
        resolve(c);
      });
      socket.on("error", reject);
    });
    for (const name of ["10.43.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", node.ip]) {
      expect(checkServerIdentity(name, cert)).toBeUndefined();
    }
    expect(checkServerIdentity("10.43.0.2", cert)).toBeInstanceOf(Error);
    expect(checkServerIdentity("kubernetes.evil.example", cert)).toBeInstanceOf(Error);
  });

  test("a deleted kubernetes Service comes back with the same address", async () => {
    expect((await node.kubectl("delete", "service", "kubernetes", "-n", "default")).code).toBe(0);
    const end = Date.now() + 60_000;
    let svc: any;
    while (Date.now() < end) {
      const r = await node.kubectl("get", "service", "kubernetes", "-n", "default", "-o", "json");
      if (r.code === 0 && (svc = JSON.parse(r.stdout)).spec.clusterIP) break;
      await Bun.sleep(500);
    }
    expect(svc?.spec?.clusterIP).toBe("10.43.0.1");
    expect(svc.spec.ports).toEqual([{ name: "https", port: 443, protocol: "TCP", targetPort: node.port }]);
  });
});
