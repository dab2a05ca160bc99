import { describe, expect, test } from "bun:test";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { ValueErrorType } from "@sinclair/typebox/errors";
import "../formats";
import { pods, type Pod } from "./pod";
import { defaultImagePullPolicy, imageTag, podQOSClass } from "./podspec.defaults";

const podCheck = TypeCompiler.Compile(pods.schema);

const realisticPod = () =>
  ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", namespace: "default", labels: { app: "web" }, creationTimestamp: null },
    spec: {
      initContainers: [{ name: "init", image: "busybox:1.36", command: ["sh", "-c", "echo hi"] }],
      containers: [
        {
          name: "nginx",
          image: "nginx:1.25",
          ports: [{ name: "http", containerPort: 80 }],
          env: [
            { name: "MODE", value: "prod" },
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "CPU", valueFrom: { resourceFieldRef: { resource: "limits.cpu", divisor: "1m" } } },
            { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
            { name: "LEVEL", valueFrom: { configMapKeyRef: { name: "cfg", key: "level", optional: true } } },
          ],
          envFrom: [{ configMapRef: { name: "cfg" } }, { prefix: "S_", secretRef: { name: "db" } }],
          resources: { limits: { cpu: "500m", memory: "128Mi" }, requests: { cpu: "250m" } },
          volumeMounts: [
            { name: "data", mountPath: "/data" },
            { name: "cfg", mountPath: "/etc/cfg", readOnly: true },
          ],
          livenessProbe: { httpGet: { path: "/healthz", port: "http" }, initialDelaySeconds: 5 },
          readinessProbe: { tcpSocket: { port: 80 } },
          startupProbe: { exec: { command: ["true"] }, failureThreshold: 30 },
          lifecycle: { preStop: { exec: { command: ["sleep", "5"] } } },
          securityContext: { runAsNonRoot: true, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true },
        },
      ],
      volumes: [
        { name: "data", emptyDir: { sizeLimit: "1Gi" } },
        { name: "cfg", configMap: { name: "cfg", items: [{ key: "a", path: "a.conf" }] } },
        { name: "host", hostPath: { path: "/var/log", type: "Directory" } },
        { name: "sec", secret: { secretName: "db", defaultMode: 0o400 } },
        { name: "proj", projected: { sources: [{ serviceAccountToken: { path: "token", audience: "api" } }, { downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] } }] } },
        { name: "pvc", persistentVolumeClaim: { claimName: "data" } },
        { name: "share", nfs: { server: "nas.local", path: "/export" } },
      ],
      nodeSelector: { "kubernetes.io/arch": "arm64" },
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] }],
          },
        },
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app: "web" } } } },
          ],
        },
      },
      tolerations: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" }],
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { app: "web" } } }],
      serviceAccountName: "web",
      imagePullSecrets: [{ name: "regcred" }],
      hostAliases: [{ ip: "10.0.0.1", hostnames: ["db.local"] }],
      dnsConfig: { options: [{ name: "ndots", value: "2" }] },
      securityContext: { fsGroup: 2000, runAsUser: 1000 },
      priorityClassName: "high",
      terminationGracePeriodSeconds: 10,
    },
  }) as unknown as Pod;

describe("pod schema", () => {
  test("a realistic manifest passes", () => {
    const pod = realisticPod();
    expect([...podCheck.Errors(pod)].map((e) => `${e.path}: ${e.message}`)).toEqual([]);
    pods.defaults(pod);
    expect(podCheck.Check(pod)).toBe(true);
    expect(pods.validate(pod)).toEqual([]);
  });

  test("an unknown field fails", () => {
    const pod = realisticPod() as any;
    pod.spec.containers[0].imagePolicy = "Always";
    expect(podCheck.Check(pod)).toBe(false);
    const errs = [...podCheck.Errors(pod)];
    expect(errs.some((e) => e.type === ValueErrorType.ObjectAdditionalProperties && e.path.startsWith("/spec/containers/0"))).toBe(true);
  });

  test("time fields accept null as upstream serializes them", () => {
    const pod = realisticPod() as any;
    pod.status = { phase: "Running", conditions: [{ type: "Ready", status: "True", lastProbeTime: null, lastTransitionTime: "2024-05-01T10:00:00Z" }] };
    expect(podCheck.Check(pod)).toBe(true);
  });

  test("patch merge keys follow upstream", () => {
    const spec = (pods.schema as any).properties.spec.properties;
    const container = spec.containers.items.properties;
    expect(spec.containers["x-kubernetes-patch-merge-key"]).toBe("name");
    expect(spec.volumes["x-kubernetes-patch-merge-key"]).toBe("name");
    expect(spec.volumes["x-kubernetes-patch-strategy"]).toBe("merge,retainKeys");
    expect(spec.imagePullSecrets["x-kubernetes-patch-merge-key"]).toBe("name");
    expect(spec.hostAliases["x-kubernetes-patch-merge-key"]).toBe("ip");
    expect(spec.tolerations["x-kubernetes-patch-merge-key"]).toBeUndefined();
    expect(container.ports["x-kubernetes-patch-merge-key"]).toBe("containerPort");
    expect(container.ports["x-kubernetes-list-map-keys"]).toEqual(["containerPort", "protocol"]);
    expect(container.env["x-kubernetes-patch-merge-key"]).toBe("name");
    expect(container.volumeMounts["x-kubernetes-patch-merge-key"]).toBe("mountPath");
    const status = (pods.schema as any).properties.status.properties;
    expect(status.conditions["x-kubernetes-patch-merge-key"]).toBe("type");
  });
});

describe("pod defaults", () => {
  test.each([
    ["nginx", "Always"],
    ["nginx:latest", "Always"],
    ["nginx:1.25", "IfNotPresent"],
    ["localhost:5000/app", "Always"],
    ["localhost:5000/app:v2", "IfNotPresent"],
    ["ghcr.io/org/app@sha256:abcd", "IfNotPresent"],
    ["ghcr.io/org/app:latest@sha256:abcd", "Always"],
  ])("imagePullPolicy for %s is %s", (image, policy) => {
    expect(defaultImagePullPolicy(image)).toBe(policy as "Always");
  });

  test("imageTag", () => {
    expect(imageTag("registry:5000/a/b:1.0")).toBe("1.0");
    expect(imageTag("registry:5000/a/b")).toBe("latest");
  });

  test("upstream defaults are filled in", () => {
    const pod = { metadata: { name: "p", namespace: "default" }, spec: { containers: [{ name: "c", image: "busybox", ports: [{ containerPort: 8080 }], readinessProbe: { httpGet: { port: 8080 } } }], volumes: [{ name: "v" }] } } as unknown as Pod;
    pods.defaults(pod);
    const spec = pod.spec!;
    expect(spec.restartPolicy).toBe("Always");
    expect(spec.dnsPolicy).toBe("ClusterFirst");
    expect(spec.schedulerName).toBe("default-scheduler");
    expect(spec.terminationGracePeriodSeconds).toBe(30);
    expect(spec.securityContext).toEqual({});
    expect(spec.enableServiceLinks).toBe(true);
    const c = spec.containers[0];
    expect(c.imagePullPolicy).toBe("Always");
    expect(c.terminationMessagePath).toBe("/dev/termination-log");
    expect(c.terminationMessagePolicy).toBe("File");
    expect(c.ports![0].protocol).toBe("TCP");
    expect(c.readinessProbe).toEqual({ httpGet: { port: 8080, path: "/", scheme: "HTTP" }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
    expect(spec.volumes![0]).toEqual({ name: "v", emptyDir: {} });
    expect(pod.status).toEqual({ phase: "Pending", qosClass: "BestEffort" });
  });

  test("requests default to limits, and QoS follows", () => {
    const pod = { metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "x:1", resources: { limits: { cpu: "1", memory: "1Gi" } } }] } } as unknown as Pod;
    pods.defaults(pod);
    expect(pod.spec!.containers[0].resources!.requests).toEqual({ cpu: "1", memory: "1Gi" });
    expect(pod.status!.qosClass).toBe("Guaranteed");
    expect(podQOSClass({ containers: [{ name: "c", resources: { requests: { cpu: "100m" } } }] })).toBe("Burstable");
  });

  test("hostNetwork pods get hostPort = containerPort", () => {
    const pod = { metadata: { name: "p" }, spec: { hostNetwork: true, containers: [{ name: "c", image: "x:1", ports: [{ containerPort: 53, protocol: "UDP" }] }] } } as unknown as Pod;
    pods.defaults(pod);
    expect(pod.spec!.containers[0].ports![0].hostPort).toBe(53);
  });
});

describe("pod validation", () => {
  const validate = (spec: unknown) => {
    const pod = { metadata: { name: "p", namespace: "default" }, spec } as unknown as Pod;
    pods.defaults(pod);
    return pods.validate(pod);
  };
  const fields = (spec: unknown) => validate(spec).map((e) => `${e.field} ${e.type}`);

  test("containers are required", () => {
    expect(fields({ containers: [] })).toEqual(["spec.containers Required"]);
  });

  test("container name, image, uniqueness", () => {
    expect(fields({ containers: [{ name: "Web", image: "x" }, { name: "db" }, { name: "db", image: "y" }] })).toEqual([
      "spec.containers[0].name Invalid",
      "spec.containers[1].image Required",
      "spec.containers[2].name Duplicate",
    ]);
  });

  test("init and app containers share one name space", () => {
    expect(fields({ initContainers: [{ name: "a", image: "x" }], containers: [{ name: "a", image: "x" }] })).toEqual(["spec.containers[0].name Duplicate"]);
  });

  test("ports", () => {
    const errs = validate({
      containers: [{ name: "c", image: "x", ports: [{ containerPort: 70000 }, { containerPort: 80, protocol: "HTTP" }, { name: "Bad_Name", containerPort: 81 }] }],
    });
    expect(errs.map((e) => e.field)).toEqual([
      "spec.containers[0].ports[0].containerPort",
      "spec.containers[0].ports[1].protocol",
      "spec.containers[0].ports[2].name",
    ]);
    expect(errs[0].message).toBe("Invalid value: 70000: must be between 1 and 65535, inclusive");
    expect(errs[1].message).toBe('Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"');
  });

  test("enums", () => {
    const errs = validate({ restartPolicy: "Sometimes", dnsPolicy: "Magic", containers: [{ name: "c", image: "x", imagePullPolicy: "Maybe" }] });
    expect(errs.map((e) => `${e.field} ${e.type}`)).toEqual([
      "spec.containers[0].imagePullPolicy NotSupported",
      "spec.restartPolicy NotSupported",
      "spec.dnsPolicy NotSupported",
    ]);
    expect(errs[1].message).toBe('Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"');
  });

  test("volume mounts must name a volume; one source per volume", () => {
    expect(
      fields({
        volumes: [{ name: "a", emptyDir: {}, hostPath: { path: "/x" } }, { name: "a", emptyDir: {} }],
        containers: [{ name: "c", image: "x", volumeMounts: [{ name: "missing", mountPath: "/m" }] }],
      }),
    ).toEqual(["spec.volumes[0].hostPath Forbidden", "spec.volumes[1].name Duplicate", "spec.containers[0].volumeMounts[0].name Invalid"]);
  });

  test("env valueFrom", () => {
    expect(
      fields({
        containers: [{ name: "c", image: "x", env: [{ name: "A", value: "1", valueFrom: { fieldRef: { fieldPath: "spec.bogus" } } }, { name: "B=C" }] }],
      }),
    ).toEqual(["spec.containers[0].env[0].valueFrom Invalid", "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath NotSupported", "spec.containers[0].env[1].name Invalid"]);
  });

  test("probes need exactly one handler; liveness successThreshold must be 1", () => {
    expect(
      fields({
        containers: [{ name: "c", image: "x", livenessProbe: { successThreshold: 2, exec: { command: ["x"] } }, readinessProbe: { periodSeconds: 5 } }],
      }),
    ).toEqual(["spec.containers[0].livenessProbe.successThreshold Invalid", "spec.containers[0].readinessProbe Required"]);
  });

  test("requests may not exceed limits", () => {
    const errs = validate({ containers: [{ name: "c", image: "x", resources: { limits: { cpu: "500m" }, requests: { cpu: "1" } } }] });
    expect(errs).toEqual([{ field: "spec.containers[0].resources.requests", type: "Invalid", message: 'Invalid value: "1": must be less than or equal to cpu limit of 500m' }]);
  });

  test("tolerations", () => {
    expect(
      fields({
        containers: [{ name: "c", image: "x" }],
        tolerations: [{ operator: "Equal", value: "x" }, { key: "k", operator: "Exists", value: "v" }, { key: "k", effect: "NoSchedule", tolerationSeconds: 5 }, { key: "k", effect: "Sometimes" }],
      }),
    ).toEqual([
      "spec.tolerations[0].operator Invalid",
      "spec.tolerations[1].operator Invalid",
      "spec.tolerations[2].effect Invalid",
      "spec.tolerations[3].effect NotSupported",
    ]);
  });

  test("restartPolicy on containers: only sidecar init containers", () => {
    expect(
      fields({ initContainers: [{ name: "s", image: "x", restartPolicy: "Never" }], containers: [{ name: "c", image: "x", restartPolicy: "Always" }] }),
    ).toEqual(["spec.initContainers[0].restartPolicy NotSupported", "spec.containers[0].restartPolicy Forbidden"]);
  });

  test("only images, tolerations and deadlines change on update", () => {
    const make = () => {
      const p = realisticPod();
      pods.defaults(p);
      return p;
    };
    const old = make();
    const next = make();
    next.spec!.containers[0].image = "nginx:1.26";
    next.spec!.tolerations!.push({ key: "extra", operator: "Exists" });
    next.spec!.nodeName = "node-1";
    expect(pods.immutable!(next, old)).toEqual([]);
    next.spec!.containers[0].command = ["other"];
    expect(pods.immutable!(next, old).map((e) => `${e.field} ${e.type}`)).toEqual(["spec Forbidden"]);
  });
});
