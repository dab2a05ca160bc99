import { describe, expect, test } from "bun:test";
import { endpoints, formatEndpoints, type Endpoints } from "./endpoints";
import { events, type Event } from "./event";
import { leases, type Lease } from "../coordination/lease";
import { namespaces, type Namespace } from "./namespace";
import { nodes, type Node } from "./node";
import { secrets, type Secret } from "./secret";
import { serviceAccounts, type ServiceAccount } from "./serviceaccount";

const now = new Date("2024-05-01T12:00:00Z");
const meta = (name: string, extra: Record<string, unknown> = {}) => ({ name, creationTimestamp: "2024-05-01T11:59:00Z", ...extra });

describe("namespaces", () => {
  test("defaults, table, phase", () => {
    const ns = { metadata: meta("team-a") } as Namespace;
    namespaces.defaults(ns);
    expect(ns.spec).toEqual({ finalizers: ["kubernetes"] });
    expect(ns.status).toEqual({ phase: "Active" });
    expect(namespaces.table.row(ns, now)).toEqual(["team-a", "Active", "60s"]);
    expect(namespaces.validate({ metadata: meta("a"), status: { phase: "Gone" } } as Namespace).map((e) => e.field)).toEqual(["status.phase"]);
    expect(namespaces.fieldSelectors!["status.phase"](ns)).toBe("Active");
  });
});

describe("nodes", () => {
  const node = (): Node =>
    ({
      metadata: meta("pi-1", { labels: { "node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/master": "true" } }),
      spec: { podCIDR: "10.42.0.0/24" },
      status: {
        capacity: { cpu: "4", memory: "3882Mi", pods: "110" },
        conditions: [{ type: "Ready", status: "True", lastHeartbeatTime: "2024-05-01T11:59:50Z", lastTransitionTime: null }],
        addresses: [
          { type: "InternalIP", address: "192.168.1.10" },
          { type: "Hostname", address: "pi-1" },
        ],
        nodeInfo: {
          machineID: "m",
          systemUUID: "s",
          bootID: "b",
          kernelVersion: "6.6.31+rpt-rpi-v8",
          osImage: "Debian GNU/Linux 12 (bookworm)",
          containerRuntimeVersion: "docker://26.1.4",
          kubeletVersion: "v1.32.0-bramble",
          operatingSystem: "linux",
          architecture: "arm64",
        },
      },
    }) as Node;

  test("defaults: allocatable from capacity, podCIDRs from podCIDR", () => {
    const n = node();
    nodes.defaults(n);
    expect(n.status!.allocatable).toEqual({ cpu: "4", memory: "3882Mi", pods: "110" });
    expect(n.spec!.podCIDRs).toEqual(["10.42.0.0/24"]);
    expect(nodes.validate(n)).toEqual([]);
  });

  test("table: status, roles, wide columns", () => {
    const n = node();
    expect(nodes.table.row(n, now)).toEqual([
      "pi-1",
      "Ready",
      "control-plane,master",
      "60s",
      "v1.32.0-bramble",
      "192.168.1.10",
      "<none>",
      "Debian GNU/Linux 12 (bookworm)",
      "6.6.31+rpt-rpi-v8",
      "docker://26.1.4",
    ]);
    n.spec!.unschedulable = true;
    n.status!.conditions![0].status = "Unknown";
    n.metadata.labels = {};
    const row = nodes.table.row(n, now);
    expect(row[1]).toBe("NotReady,SchedulingDisabled");
    expect(row[2]).toBe("<none>");
    delete n.status!.conditions;
    expect(nodes.table.row(n, now)[1]).toBe("Unknown,SchedulingDisabled");
    expect(nodes.fieldSelectors!["spec.unschedulable"](n)).toBe("true");
  });

  test("taints and podCIDR", () => {
    const n = node();
    n.spec!.taints = [
      { key: "dedicated", value: "gpu", effect: "NoSchedule" },
      { key: "dedicated", value: "x", effect: "NoSchedule" },
      { key: "k", effect: "Sometimes" },
    ];
    n.spec!.podCIDR = "10.42.0.0";
    expect(nodes.validate(n).map((e) => `${e.field} ${e.type}`)).toEqual([
      "spec.podCIDR Invalid",
      "spec.taints[1] Duplicate",
      "spec.taints[2].effect NotSupported",
    ]);
    const old = node();
    const next = node();
    next.spec!.podCIDR = "10.42.1.0/24";
    expect(nodes.immutable!(next, old).map((e) => e.field)).toEqual(["spec.podCIDR"]);
  });
});

describe("secrets", () => {
  test("type defaults to Opaque; stringData is merged into data", () => {
    const s = { metadata: meta("db"), data: { user: btoa("admin"), password: btoa("old") }, stringData: { password: "s3cret" } } as Secret;
    secrets.defaults(s);
    expect(s.type).toBe("Opaque");
    expect(s.stringData).toBeUndefined();
    expect(atob(s.data!.password)).toBe("s3cret");
    expect(secrets.validate(s)).toEqual([]);
    expect(secrets.table.row(s, now)).toEqual(["db", "Opaque", 2, "60s"]);
    expect(secrets.fieldSelectors!.type(s)).toBe("Opaque");
  });

  test("data must be base64 and keys valid; typed secrets need their keys", () => {
    const s = { metadata: meta("x"), data: { "bad key": btoa("a"), ok: "not base64!" } } as Secret;
    secrets.defaults(s);
    expect(secrets.validate(s).map((e) => e.field)).toEqual(["data[bad key]", "data[ok]"]);
    const tls = { metadata: meta("t"), type: "kubernetes.io/tls", data: { "tls.crt": btoa("c") } } as Secret;
    expect(secrets.validate(tls).map((e) => `${e.field} ${e.type}`)).toEqual(["data[tls.key] Required"]);
    const docker = { metadata: meta("d"), type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": btoa("{nope") } } as Secret;
    expect(secrets.validate(docker).map((e) => e.field)).toEqual(["data[.dockerconfigjson]"]);
  });

  test("type is immutable; immutable secrets keep their data", () => {
    const old = { metadata: meta("x"), type: "Opaque", immutable: true, data: { a: btoa("1") } } as Secret;
    const next = { metadata: meta("x"), type: "kubernetes.io/tls", immutable: true, data: { a: btoa("2") } } as Secret;
    expect(secrets.immutable!(next, old).map((e) => e.field)).toEqual(["type", "data"]);
  });
});

describe("endpoints", () => {
  const ep = (): Endpoints =>
    ({
      metadata: meta("web"),
      subsets: [
        {
          addresses: [{ ip: "10.42.0.5" }, { ip: "10.42.1.7" }, { ip: "10.42.2.9" }],
          ports: [{ name: "http", port: 80 }, { name: "https", port: 443 }],
        },
      ],
    }) as Endpoints;

  test("defaults, validation, formatting", () => {
    const e = ep();
    endpoints.defaults(e);
    expect(e.subsets![0].ports![0].protocol).toBe("TCP");
    expect(endpoints.validate(e)).toEqual([]);
    expect(formatEndpoints(e)).toBe("10.42.0.5:80,10.42.1.7:80,10.42.2.9:80 + 3 more...");
    expect(formatEndpoints({ metadata: meta("x") } as Endpoints)).toBe("<none>");
    expect(endpoints.table.row({ metadata: meta("x"), subsets: [{ addresses: [{ ip: "10.0.0.1" }], ports: [{ port: 53, protocol: "UDP" }] }] } as Endpoints, now)).toEqual([
      "x",
      "10.0.0.1:53",
      "60s",
    ]);
  });

  test("bad addresses and ports", () => {
    const e = { metadata: meta("x"), subsets: [{ addresses: [{ ip: "127.0.0.1" }, { ip: "nope" }], ports: [{ port: 80 }, { name: "b", port: 0, protocol: "TCP" }] }, {}] } as Endpoints;
    endpoints.defaults(e);
    expect(endpoints.validate(e).map((x) => x.field)).toEqual([
      "subsets[0].addresses[0].ip",
      "subsets[0].addresses[1].ip",
      "subsets[0].ports[0].name",
      "subsets[0].ports[1].port",
      "subsets[1]",
    ]);
  });
});

describe("events", () => {
  const ev = (): Event =>
    ({
      metadata: meta("web.17c", { namespace: "default" }),
      involvedObject: { kind: "Pod", namespace: "default", name: "web", fieldPath: "spec.containers{nginx}" },
      reason: "Pulled",
      message: "Successfully pulled image \"nginx\"\n",
      source: { component: "kubelet", host: "pi-1" },
      firstTimestamp: "2024-05-01T11:50:00Z",
      lastTimestamp: "2024-05-01T11:58:00Z",
      count: 3,
      type: "Normal",
    }) as Event;

  test("table row (wide cells included) and field selectors", () => {
    expect(events.table.columns.map((c) => `${c.name}:${c.priority}`)).toEqual([
      "Last Seen:0",
      "Type:0",
      "Reason:0",
      "Object:0",
      "Subobject:1",
      "Source:1",
      "Message:0",
      "First Seen:1",
      "Count:1",
      "Name:1",
    ]);
    expect(events.table.row(ev(), now)).toEqual([
      "2m",
      "Normal",
      "Pulled",
      "pod/web",
      "spec.containers{nginx}",
      "kubelet, pi-1",
      'Successfully pulled image "nginx"',
      "10m",
      3,
      "web.17c",
    ]);
    const e = ev();
    expect(events.fieldSelectors!["involvedObject.name"](e)).toBe("web");
    expect(events.fieldSelectors!.source(e)).toBe("kubelet");
    expect(events.fieldSelectors!.type(e)).toBe("Normal");
  });

  test("namespace must match the involved object's", () => {
    const e = ev();
    e.involvedObject.namespace = "other";
    expect(events.validate(e).map((x) => x.field)).toEqual(["involvedObject.namespace"]);
    const fresh = ev();
    fresh.eventTime = "2024-05-01T11:58:00.000000Z";
    expect(events.validate(fresh).map((x) => `${x.field} ${x.type}`)).toEqual(["reportingComponent Required", "reportingInstance Required", "action Required"]);
  });
});

describe("leases and service accounts", () => {
  test("lease validation and table", () => {
    const l = { metadata: meta("pi-1", { namespace: "kube-node-lease" }), spec: { holderIdentity: "pi-1", leaseDurationSeconds: 40, renewTime: "2024-05-01T11:59:59.123456Z" } } as Lease;
    expect(leases.validate(l)).toEqual([]);
    expect(leases.table.row(l, now)).toEqual(["pi-1", "pi-1", "60s"]);
    l.spec!.leaseDurationSeconds = 0;
    expect(leases.validate(l).map((e) => e.field)).toEqual(["spec.leaseDurationSeconds"]);
  });

  test("service account table", () => {
    const sa = { metadata: meta("default"), secrets: [{ name: "tok" }] } as ServiceAccount;
    expect(serviceAccounts.table.row(sa, now)).toEqual(["default", 1, "60s"]);
  });
});

describe("configmaps", () => {
  test("keys may not be in both bags; binaryData is base64", async () => {
    const { configMaps } = await import("./configmap");
    const cm = { metadata: meta("c"), data: { a: "1", b: "2" }, binaryData: { a: btoa("x"), c: "%%%" } } as never;
    expect(configMaps.validate(cm).map((e) => e.field)).toEqual(["data[a]", "binaryData[a]", "binaryData[c]"]);
  });

  test("keys named like Object.prototype members are ordinary keys", async () => {
    const { configMaps } = await import("./configmap");
    const cm = { metadata: meta("c"), data: JSON.parse('{"__proto__":"1","constructor":"2"}'), binaryData: { toString: btoa("x") } } as never;
    expect(configMaps.validate(cm)).toEqual([]);
  });
});
