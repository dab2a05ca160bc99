// The objects the memory benchmarks create (memory.ts, server-heap.ts): ConfigMaps with three
// keys and single-container Pods with ports, env and resources — one shape, so their numbers
// compare.

export const benchConfigMap = (name: string, i: number) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, labels: { app: `app-${i % 50}`, "app.kubernetes.io/part-of": "bench" } },
  data: {
    "app.properties": `color=blue\nmode=fast\nreplica=${i}\n`,
    "log.level": "info",
    "feature-flags.json": JSON.stringify({ newUi: i % 2 === 0, beta: false, limit: 100 + i }),
  },
});

export const benchPod = (name: string, i: number) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, labels: { app: `app-${i % 50}`, "pod-template-hash": "7d4b9c8f5" } },
  spec: {
    containers: [
      {
        name: "web",
        image: "nginx:1.27-alpine",
        ports: [{ containerPort: 80, name: "http" }],
        env: [{ name: "MODE", value: "production" }],
        resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } },
      },
    ],
  },
});
