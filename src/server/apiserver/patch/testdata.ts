// A cut-down Deployment schema with upstream's merge keys (k8s.io/api types.go), so the patch
// tests do not depend on the full resource definitions while those evolve.
import { Type } from "@sinclair/typebox";
import { MergeList, MergeSet, ObjectMetaSchema, Obj, StringMap, IntOrString } from "../../../api/schema";

const Opt = Type.Optional;

const EnvVar = Obj({ name: Type.String(), value: Opt(Type.String()) });
const ContainerPort = Obj({ containerPort: Type.Integer(), name: Opt(Type.String()), protocol: Opt(Type.String()) });
const VolumeMount = Obj({ name: Type.String(), mountPath: Type.String(), readOnly: Opt(Type.Boolean()) });

export const ContainerSchema = Obj({
  name: Type.String(),
  image: Opt(Type.String()),
  args: Opt(Type.Array(Type.String())),
  env: Opt(MergeList(EnvVar, "name")),
  ports: Opt(MergeList(ContainerPort, "containerPort")),
  volumeMounts: Opt(MergeList(VolumeMount, "mountPath")),
  resources: Opt(Obj({ limits: Opt(StringMap), requests: Opt(StringMap) })),
});

const Volume = Obj({
  name: Type.String(),
  emptyDir: Opt(Obj({ medium: Opt(Type.String()) })),
  configMap: Opt(Obj({ name: Opt(Type.String()) })),
  hostPath: Opt(Obj({ path: Type.String() })),
});

export const PodSpecSchema = Obj({
  containers: MergeList(ContainerSchema, "name"),
  initContainers: Opt(MergeList(ContainerSchema, "name")),
  volumes: Opt(MergeList(Volume, "name", { "x-kubernetes-patch-strategy": "merge,retainKeys" })),
  tolerations: Opt(Type.Array(Obj({ key: Opt(Type.String()), operator: Opt(Type.String()), effect: Opt(Type.String()) }))),
  nodeSelector: Opt(StringMap),
  // A union, as optional-or-null fields come out of TypeBox.
  imagePullSecrets: Opt(Type.Union([MergeList(Obj({ name: Type.String() }), "name"), Type.Null()])),
});

export const DeploymentSchema = Obj({
  apiVersion: Opt(Type.String()),
  kind: Opt(Type.String()),
  metadata: Opt(ObjectMetaSchema),
  spec: Opt(
    Obj({
      replicas: Opt(Type.Integer()),
      selector: Opt(Obj({ matchLabels: Opt(StringMap) })),
      strategy: Opt(
        Obj(
          {
            type: Opt(Type.String()),
            rollingUpdate: Opt(Obj({ maxSurge: Opt(IntOrString), maxUnavailable: Opt(IntOrString) })),
          },
          { "x-kubernetes-patch-strategy": "retainKeys" },
        ),
      ),
      template: Opt(Obj({ metadata: Opt(ObjectMetaSchema), spec: Opt(PodSpecSchema) })),
    }),
  ),
  status: Opt(Obj({ replicas: Opt(Type.Integer()) }, { additionalProperties: true })),
  // A Record whose values carry merge lists, to exercise patternProperties walking.
  extra: Opt(Type.Record(Type.String(), Obj({ finalizers: Opt(MergeSet(Type.String())) }))),
});

export const MergeSetOnly = MergeSet;

export function deployment() {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "web",
      namespace: "default",
      labels: { app: "web", tier: "fe" },
      finalizers: ["example.com/a", "example.com/b"],
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              name: "web",
              image: "nginx:1.25",
              args: ["--a", "--b"],
              env: [
                { name: "A", value: "1" },
                { name: "B", value: "2" },
              ],
              ports: [
                { containerPort: 80, name: "http" },
                { containerPort: 443, name: "https" },
              ],
            },
            { name: "sidecar", image: "busybox", env: [{ name: "X", value: "x" }] },
          ],
          volumes: [{ name: "data", emptyDir: {} }],
          tolerations: [{ key: "a", operator: "Exists" }],
          nodeSelector: { disk: "ssd" },
        },
      },
    },
  };
}
