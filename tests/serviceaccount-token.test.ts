// Service-account tokens for real: `kubectl create token` (which sends a protobuf TokenRequest)
// against a `bramble server` process, and a pod on a real Docker engine that reads its
// projected token, CA and namespace from /var/run/secrets/kubernetes.io/serviceaccount and calls
// the API server with them (busybox wget over TLS): 200 in its namespace, 403 elsewhere. The
// accounts are given upstream's `view` role in `default` with a RoleBinding, as a cluster admin would.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { decodeJwt } from "jose";
import { netnsServerSkipReason, startNetnsServer, type NetnsServer } from "./helpers/netns-server";
import { parseJson, startTestServer, type TestServer } from "./helpers/server";

setDefaultTimeout(90_000);

describe("kubectl create token against a bramble server", () => {
  let s: TestServer;
  const apiGet = (token: string, path: string) => fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${token}` }, tls: { ca: s.ca() } });

  beforeAll(async () => {
    s = await startTestServer();
    expect((await s.kubectl("create", "rolebinding", "default-view", "--clusterrole=view", "--serviceaccount=default:default")).code).toBe(0);
  });
  afterAll(async () => {
    await s?.cleanup();
  });

  test("a token for the default account reads its namespace, is refused elsewhere, and survives a server restart", async () => {
    const sa = parseJson(await s.kubectl("get", "serviceaccount", "default", "-o", "json"));
    const r = await s.kubectl("create", "token", "default");
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ iss: "https://kubernetes.default.svc.cluster.local", sub: "system:serviceaccount:default:default", aud: ["https://kubernetes.default.svc.cluster.local"] });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(claims["kubernetes.io"]).toEqual({ namespace: "default", serviceaccount: { name: "default", uid: sa.metadata.uid } });

    const mine = await apiGet(token, "/api/v1/namespaces/default/configmaps");
    expect(mine.status).toBe(200);
    expect(((await mine.json()) as { kind: string }).kind).toBe("ConfigMapList");
    const other = await apiGet(token, "/api/v1/namespaces/kube-system/configmaps");
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({ kind: "Status", reason: "Forbidden", code: 403 });
    // kubectl with the token: its own namespace works, cluster-scoped reads are refused.
    const asAccount = ["--token", token, "--kubeconfig", s.kubeconfig];
    expect((await s.kubectl(...asAccount, "get", "pods")).code).toBe(0);
    const nodes = await s.kubectl(...asAccount, "get", "nodes");
    expect(nodes.code).not.toBe(0);
    expect(nodes.stderr).toContain('User "system:serviceaccount:default:default" cannot list resource "nodes" in API group "" at the cluster scope');

    expect(await s.stop()).toBe(0);
    await s.restart();
    expect((await apiGet(token, "/api/v1/namespaces/default/configmaps")).status).toBe(200);
  });

  test("--bound-object-kind Pod: bound to the pod, 401 once it is deleted; errors come back as kubectl prints upstream's", async () => {
    const manifest = JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: "bound" }, spec: { containers: [{ name: "c", image: "busybox" }] } });
    expect((await s.kubectlWith({ stdin: manifest }, "apply", "-f", "-")).code).toBe(0);
    const pod = parseJson(await s.kubectl("get", "pod", "bound", "-o", "json"));
    const r = await s.kubectl("create", "token", "default", "--bound-object-kind", "Pod", "--bound-object-name", "bound", "--duration", "20m", "--audience", "https://kubernetes.default.svc.cluster.local");
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    const claims = decodeJwt(token);
    expect(claims.exp! - claims.iat!).toBe(1200);
    expect((claims["kubernetes.io"] as { pod: unknown }).pod).toEqual({ name: "bound", uid: pod.metadata.uid });
    expect((await apiGet(token, "/api/v1/namespaces/default/pods/bound")).status).toBe(200);
    expect((await s.kubectl("delete", "pod", "bound", "--grace-period=0", "--force")).code).toBe(0);
    const after = await apiGet(token, "/api/v1/namespaces/default/pods");
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });

    const missing = await s.kubectl("create", "token", "nobody");
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('serviceaccounts "nobody" not found');
    const short = await s.kubectl("create", "token", "default", "--duration", "5m");
    expect(short.code).not.toBe(0);
    expect(short.stderr).toContain("spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes");
  });
});

// The pod runs on a server in a network namespace of its own (tests/helpers/netns-server.ts),
// with the agent's Service proxy, so it calls the API server as a real pod does: through the
// `kubernetes` Service at $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT.
describe.skipIf(!!netnsServerSkipReason)("a pod calls the API server with its projected service-account token", () => {
  let node: NetnsServer;

  beforeAll(async () => {
    node = await startNetnsServer("satoken");
    expect((await node.kubectl("create", "rolebinding", "default-view", "--clusterrole=view", "--serviceaccount=default:default")).code).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await node?.destroy();
  }, 120_000);

  test("token, ca.crt and namespace are projected; the token is bound to the pod; 200 in its namespace, 403 in another", async () => {
    const dir = "/var/run/secrets/kubernetes.io/serviceaccount";
    // busybox wget speaks TLS through its ssl_client applet, which it runs from PATH.
    const script = [
      "busybox mkdir -p /tmp/bin && busybox ln -sf /bin/busybox /tmp/bin/ssl_client && export PATH=/tmp/bin:$PATH",
      `echo "namespace=$(cat ${dir}/namespace)"`,
      `echo "token=$(cat ${dir}/token)"`,
      `echo "ca-begins=$(head -n 1 ${dir}/ca.crt)"`,
      `echo "api=$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"`,
      `T=$(cat ${dir}/token)`,
      `wget -q --no-check-certificate --header "Authorization: Bearer $T" -O /tmp/pods "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/default/pods" && echo "own=ok $(head -c 40 /tmp/pods)" || echo own=failed`,
      `wget --no-check-certificate --header "Authorization: Bearer $T" -O /tmp/x "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/kube-system/pods" 2>&1 | grep -o "HTTP/1.1 [0-9]* [A-Za-z]*" | sed "s/^/other=/"`,
    ].join("; ");
    const { pod, line } = await node.runScriptPod("reader", script);

    expect(line("namespace")).toBe("default");
    expect(line("ca-begins")).toBe("-----BEGIN CERTIFICATE-----");
    expect(line("api")).toBe("10.43.0.1:443");
    const claims = decodeJwt(line("token")!);
    expect(claims.sub).toBe("system:serviceaccount:default:default");
    const bound = claims["kubernetes.io"] as { pod?: { name: string; uid: string }; node?: { name: string } };
    expect(bound.pod).toEqual({ name: "reader", uid: pod.metadata.uid });
    expect(bound.node?.name).toBe(node.nodeName);
    expect(claims.exp! - claims.iat!).toBe(3607);
    expect(line("own")).toStartWith('ok {"kind":"PodList"');
    expect(line("other")).toBe("HTTP/1.1 403 Forbidden");
    // The projected CA is the cluster's, as the kube-root-ca.crt ConfigMap publishes it.
    const cm = JSON.parse((await node.kubectl("get", "configmap", "kube-root-ca.crt", "-o", "json")).stdout);
    expect(cm.data["ca.crt"]).toStartWith("-----BEGIN CERTIFICATE-----");
    expect(pod.status.phase).toBe("Succeeded");
  });
});
