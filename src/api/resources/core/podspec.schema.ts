// The core/v1 PodSpec, Container and PodTemplateSpec schemas, shared by pods and by every
// workload's template. Patch merge keys follow k8s.io/api/core/v1/types.go exactly, since
// `kubectl apply` computes its strategic merge patches from them. Rarely used volume sources
// and a few deep corners are Opaque (kept as sent).
import { Type, type Static } from "@sinclair/typebox";
import { IntOrString, LabelSelectorSchema, MergeList, ObjectMetaSchema, Obj, Opaque, Quantity, StringMap } from "../../schema";
import { Int32, Int64, LocalObjectReferenceSchema } from "../common";

const Str = () => Type.String();
const Opt = Type.Optional;

// ---------------------------------------------------------------------------------------------
// Environment.

export const ObjectFieldSelectorSchema = Obj({ apiVersion: Opt(Str()), fieldPath: Str() });
export const ResourceFieldSelectorSchema = Obj({ containerName: Opt(Str()), resource: Str(), divisor: Opt(Quantity) });
const KeySelector = Obj({ name: Opt(Str()), key: Str(), optional: Opt(Type.Boolean()) });

export const EnvVarSchema = Obj({
  name: Str(),
  value: Opt(Str()),
  valueFrom: Opt(
    Obj({
      fieldRef: Opt(ObjectFieldSelectorSchema),
      resourceFieldRef: Opt(ResourceFieldSelectorSchema),
      configMapKeyRef: Opt(KeySelector),
      secretKeyRef: Opt(KeySelector),
      fileKeyRef: Opt(Opaque("FileKeySelector selects a key of the env file.")),
    }),
  ),
});

export const EnvFromSourceSchema = Obj({
  prefix: Opt(Str()),
  configMapRef: Opt(Obj({ name: Opt(Str()), optional: Opt(Type.Boolean()) })),
  secretRef: Opt(Obj({ name: Opt(Str()), optional: Opt(Type.Boolean()) })),
});

// ---------------------------------------------------------------------------------------------
// Probes and lifecycle handlers.

export const ExecActionSchema = Obj({ command: Opt(Type.Array(Str())) });
export const HTTPGetActionSchema = Obj({
  path: Opt(Str()),
  port: IntOrString,
  host: Opt(Str()),
  scheme: Opt(Str()),
  httpHeaders: Opt(Type.Array(Obj({ name: Str(), value: Str() }))),
});
export const TCPSocketActionSchema = Obj({ port: IntOrString, host: Opt(Str()) });
export const GRPCActionSchema = Obj({ port: Int32(), service: Opt(Str()) });

export const ProbeSchema = Obj({
  exec: Opt(ExecActionSchema),
  httpGet: Opt(HTTPGetActionSchema),
  tcpSocket: Opt(TCPSocketActionSchema),
  grpc: Opt(GRPCActionSchema),
  initialDelaySeconds: Opt(Int32()),
  timeoutSeconds: Opt(Int32()),
  periodSeconds: Opt(Int32()),
  successThreshold: Opt(Int32()),
  failureThreshold: Opt(Int32()),
  terminationGracePeriodSeconds: Opt(Int64()),
});

export const LifecycleHandlerSchema = Obj({
  exec: Opt(ExecActionSchema),
  httpGet: Opt(HTTPGetActionSchema),
  tcpSocket: Opt(TCPSocketActionSchema),
  sleep: Opt(Obj({ seconds: Int64() })),
});

export const LifecycleSchema = Obj({
  postStart: Opt(LifecycleHandlerSchema),
  preStop: Opt(LifecycleHandlerSchema),
  stopSignal: Opt(Str()),
});

// ---------------------------------------------------------------------------------------------
// Security contexts.

const SELinuxOptions = Obj({ user: Opt(Str()), role: Opt(Str()), type: Opt(Str()), level: Opt(Str()) });
const WindowsOptions = Obj({
  gmsaCredentialSpecName: Opt(Str()),
  gmsaCredentialSpec: Opt(Str()),
  runAsUserName: Opt(Str()),
  hostProcess: Opt(Type.Boolean()),
});
const SeccompProfile = Obj({ type: Str(), localhostProfile: Opt(Str()) });
const AppArmorProfile = Obj({ type: Str(), localhostProfile: Opt(Str()) });

export const SecurityContextSchema = Obj({
  capabilities: Opt(Obj({ add: Opt(Type.Array(Str())), drop: Opt(Type.Array(Str())) })),
  privileged: Opt(Type.Boolean()),
  seLinuxOptions: Opt(SELinuxOptions),
  windowsOptions: Opt(WindowsOptions),
  runAsUser: Opt(Int64()),
  runAsGroup: Opt(Int64()),
  runAsNonRoot: Opt(Type.Boolean()),
  readOnlyRootFilesystem: Opt(Type.Boolean()),
  allowPrivilegeEscalation: Opt(Type.Boolean()),
  procMount: Opt(Str()),
  seccompProfile: Opt(SeccompProfile),
  appArmorProfile: Opt(AppArmorProfile),
});

export const PodSecurityContextSchema = Obj({
  seLinuxOptions: Opt(SELinuxOptions),
  windowsOptions: Opt(WindowsOptions),
  runAsUser: Opt(Int64()),
  runAsGroup: Opt(Int64()),
  runAsNonRoot: Opt(Type.Boolean()),
  supplementalGroups: Opt(Type.Array(Int64())),
  supplementalGroupsPolicy: Opt(Str()),
  fsGroup: Opt(Int64()),
  fsGroupChangePolicy: Opt(Str()),
  sysctls: Opt(Type.Array(Obj({ name: Str(), value: Str() }))),
  seccompProfile: Opt(SeccompProfile),
  appArmorProfile: Opt(AppArmorProfile),
  seLinuxChangePolicy: Opt(Str()),
});

// ---------------------------------------------------------------------------------------------
// Containers.

export const ContainerPortSchema = Obj({
  name: Opt(Str()),
  hostPort: Opt(Int32()),
  containerPort: Int32(),
  protocol: Opt(Str()),
  hostIP: Opt(Str()),
});

export const ResourceRequirementsSchema = Obj({
  limits: Opt(Type.Record(Str(), Quantity)),
  requests: Opt(Type.Record(Str(), Quantity)),
  claims: Opt(MergeList(Obj({ name: Str(), request: Opt(Str()) }), "name")),
});

export const VolumeMountSchema = Obj({
  name: Str(),
  readOnly: Opt(Type.Boolean()),
  recursiveReadOnly: Opt(Str()),
  mountPath: Str(),
  subPath: Opt(Str()),
  mountPropagation: Opt(Str()),
  subPathExpr: Opt(Str()),
});

export const VolumeDeviceSchema = Obj({ name: Str(), devicePath: Str() });

export const ContainerSchema = Obj({
  name: Str(),
  image: Opt(Str()),
  command: Opt(Type.Array(Str())),
  args: Opt(Type.Array(Str())),
  workingDir: Opt(Str()),
  ports: Opt(MergeList(ContainerPortSchema, "containerPort", { "x-kubernetes-list-map-keys": ["containerPort", "protocol"] })),
  envFrom: Opt(Type.Array(EnvFromSourceSchema)),
  env: Opt(MergeList(EnvVarSchema, "name")),
  resources: Opt(ResourceRequirementsSchema),
  resizePolicy: Opt(Type.Array(Obj({ resourceName: Str(), restartPolicy: Str() }))),
  restartPolicy: Opt(Str()),
  restartPolicyRules: Opt(Type.Array(Opaque("ContainerRestartRule describes how a container exit is handled."))),
  volumeMounts: Opt(MergeList(VolumeMountSchema, "mountPath")),
  volumeDevices: Opt(MergeList(VolumeDeviceSchema, "devicePath")),
  livenessProbe: Opt(ProbeSchema),
  readinessProbe: Opt(ProbeSchema),
  startupProbe: Opt(ProbeSchema),
  lifecycle: Opt(LifecycleSchema),
  terminationMessagePath: Opt(Str()),
  terminationMessagePolicy: Opt(Str()),
  imagePullPolicy: Opt(Str()),
  securityContext: Opt(SecurityContextSchema),
  stdin: Opt(Type.Boolean()),
  stdinOnce: Opt(Type.Boolean()),
  tty: Opt(Type.Boolean()),
});

/** Ephemeral containers (kubectl debug) share the container shape plus a target. */
export const EphemeralContainerSchema = Obj({
  ...ContainerSchema.properties,
  targetContainerName: Opt(Str()),
});

// ---------------------------------------------------------------------------------------------
// Volumes.

export const KeyToPathSchema = Obj({ key: Str(), path: Str(), mode: Opt(Int32()) });

export const DownwardAPIVolumeFileSchema = Obj({
  path: Str(),
  fieldRef: Opt(ObjectFieldSelectorSchema),
  resourceFieldRef: Opt(ResourceFieldSelectorSchema),
  mode: Opt(Int32()),
});

const ConfigMapProjection = Obj({ name: Opt(Str()), items: Opt(Type.Array(KeyToPathSchema)), optional: Opt(Type.Boolean()) });

export const VolumeProjectionSchema = Obj({
  configMap: Opt(ConfigMapProjection),
  secret: Opt(ConfigMapProjection),
  downwardAPI: Opt(Obj({ items: Opt(Type.Array(DownwardAPIVolumeFileSchema)) })),
  serviceAccountToken: Opt(Obj({ audience: Opt(Str()), expirationSeconds: Opt(Int64()), path: Str() })),
  clusterTrustBundle: Opt(Opaque("ClusterTrustBundleProjection describes how to select a set of ClusterTrustBundle objects.")),
  podCertificate: Opt(Opaque("PodCertificateProjection provides a private key and X.509 certificate.")),
});

const opaqueVolume = (what: string) => Opt(Opaque(`${what} volume source (passed through; not used by bramble).`));

export const VolumeSchema = Obj({
  name: Str(),
  emptyDir: Opt(Obj({ medium: Opt(Str()), sizeLimit: Opt(Quantity) })),
  hostPath: Opt(Obj({ path: Str(), type: Opt(Str()) })),
  configMap: Opt(
    Obj({ name: Opt(Str()), items: Opt(Type.Array(KeyToPathSchema)), defaultMode: Opt(Int32()), optional: Opt(Type.Boolean()) }),
  ),
  secret: Opt(
    Obj({ secretName: Opt(Str()), items: Opt(Type.Array(KeyToPathSchema)), defaultMode: Opt(Int32()), optional: Opt(Type.Boolean()) }),
  ),
  projected: Opt(Obj({ sources: Opt(Type.Array(VolumeProjectionSchema)), defaultMode: Opt(Int32()) })),
  downwardAPI: Opt(Obj({ items: Opt(Type.Array(DownwardAPIVolumeFileSchema)), defaultMode: Opt(Int32()) })),
  persistentVolumeClaim: Opt(Obj({ claimName: Str(), readOnly: Opt(Type.Boolean()) })),
  nfs: Opt(Obj({ server: Str(), path: Str(), readOnly: Opt(Type.Boolean()) })),
  image: Opt(Obj({ reference: Opt(Str()), pullPolicy: Opt(Str()) })),
  csi: opaqueVolume("CSI"),
  ephemeral: opaqueVolume("Generic ephemeral"),
  iscsi: opaqueVolume("iSCSI"),
  gitRepo: opaqueVolume("GitRepo"),
  glusterfs: opaqueVolume("GlusterFS"),
  cephfs: opaqueVolume("CephFS"),
  rbd: opaqueVolume("RBD"),
  fc: opaqueVolume("FibreChannel"),
  flexVolume: opaqueVolume("FlexVolume"),
  flocker: opaqueVolume("Flocker"),
  cinder: opaqueVolume("Cinder"),
  awsElasticBlockStore: opaqueVolume("AWSElasticBlockStore"),
  gcePersistentDisk: opaqueVolume("GCEPersistentDisk"),
  azureDisk: opaqueVolume("AzureDisk"),
  azureFile: opaqueVolume("AzureFile"),
  vsphereVolume: opaqueVolume("VsphereVirtualDisk"),
  quobyte: opaqueVolume("Quobyte"),
  photonPersistentDisk: opaqueVolume("PhotonPersistentDisk"),
  portworxVolume: opaqueVolume("PortworxVolume"),
  scaleIO: opaqueVolume("ScaleIO"),
  storageos: opaqueVolume("StorageOS"),
});

/** The volume sources a volume may set exactly one of. */
export const VOLUME_SOURCES = Object.keys(VolumeSchema.properties).filter((k) => k !== "name");

// ---------------------------------------------------------------------------------------------
// Scheduling: affinity, tolerations, topology spread.

export const NodeSelectorRequirementSchema = Obj({ key: Str(), operator: Str(), values: Opt(Type.Array(Str())) });
export const NodeSelectorTermSchema = Obj({
  matchExpressions: Opt(Type.Array(NodeSelectorRequirementSchema)),
  matchFields: Opt(Type.Array(NodeSelectorRequirementSchema)),
});

export const NodeAffinitySchema = Obj({
  requiredDuringSchedulingIgnoredDuringExecution: Opt(Obj({ nodeSelectorTerms: Type.Array(NodeSelectorTermSchema) })),
  preferredDuringSchedulingIgnoredDuringExecution: Opt(Type.Array(Obj({ weight: Int32(), preference: NodeSelectorTermSchema }))),
});

export const PodAffinityTermSchema = Obj({
  labelSelector: Opt(LabelSelectorSchema),
  namespaces: Opt(Type.Array(Str())),
  topologyKey: Str(),
  namespaceSelector: Opt(LabelSelectorSchema),
  matchLabelKeys: Opt(Type.Array(Str())),
  mismatchLabelKeys: Opt(Type.Array(Str())),
});

const PodAffinityLike = Obj({
  requiredDuringSchedulingIgnoredDuringExecution: Opt(Type.Array(PodAffinityTermSchema)),
  preferredDuringSchedulingIgnoredDuringExecution: Opt(Type.Array(Obj({ weight: Int32(), podAffinityTerm: PodAffinityTermSchema }))),
});

export const AffinitySchema = Obj({
  nodeAffinity: Opt(NodeAffinitySchema),
  podAffinity: Opt(PodAffinityLike),
  podAntiAffinity: Opt(PodAffinityLike),
});

export const TolerationSchema = Obj({
  key: Opt(Str()),
  operator: Opt(Str()),
  value: Opt(Str()),
  effect: Opt(Str()),
  tolerationSeconds: Opt(Int64()),
});

export const TopologySpreadConstraintSchema = Obj({
  maxSkew: Int32(),
  topologyKey: Str(),
  whenUnsatisfiable: Str(),
  labelSelector: Opt(LabelSelectorSchema),
  minDomains: Opt(Int32()),
  nodeAffinityPolicy: Opt(Str()),
  nodeTaintsPolicy: Opt(Str()),
  matchLabelKeys: Opt(Type.Array(Str())),
});

// ---------------------------------------------------------------------------------------------
// PodSpec.

export const PodSpecSchema = Obj({
  volumes: Opt(MergeList(VolumeSchema, "name", { "x-kubernetes-patch-strategy": "merge,retainKeys" })),
  initContainers: Opt(MergeList(ContainerSchema, "name")),
  containers: MergeList(ContainerSchema, "name"),
  ephemeralContainers: Opt(MergeList(EphemeralContainerSchema, "name")),
  restartPolicy: Opt(Str()),
  terminationGracePeriodSeconds: Opt(Int64()),
  activeDeadlineSeconds: Opt(Int64()),
  dnsPolicy: Opt(Str()),
  nodeSelector: Opt(StringMap),
  serviceAccountName: Opt(Str()),
  serviceAccount: Opt(Str()),
  automountServiceAccountToken: Opt(Type.Boolean()),
  nodeName: Opt(Str()),
  hostNetwork: Opt(Type.Boolean()),
  hostPID: Opt(Type.Boolean()),
  hostIPC: Opt(Type.Boolean()),
  shareProcessNamespace: Opt(Type.Boolean()),
  securityContext: Opt(PodSecurityContextSchema),
  imagePullSecrets: Opt(MergeList(LocalObjectReferenceSchema, "name")),
  hostname: Opt(Str()),
  subdomain: Opt(Str()),
  setHostnameAsFQDN: Opt(Type.Boolean()),
  hostnameOverride: Opt(Str()),
  affinity: Opt(AffinitySchema),
  schedulerName: Opt(Str()),
  tolerations: Opt(Type.Array(TolerationSchema)),
  hostAliases: Opt(MergeList(Obj({ ip: Str(), hostnames: Opt(Type.Array(Str())) }), "ip")),
  priorityClassName: Opt(Str()),
  priority: Opt(Int32()),
  dnsConfig: Opt(
    Obj({
      nameservers: Opt(Type.Array(Str())),
      searches: Opt(Type.Array(Str())),
      options: Opt(Type.Array(Obj({ name: Opt(Str()), value: Opt(Str()) }))),
    }),
  ),
  readinessGates: Opt(Type.Array(Obj({ conditionType: Str() }))),
  runtimeClassName: Opt(Str()),
  enableServiceLinks: Opt(Type.Boolean()),
  preemptionPolicy: Opt(Str()),
  overhead: Opt(Type.Record(Str(), Quantity)),
  topologySpreadConstraints: Opt(
    MergeList(TopologySpreadConstraintSchema, "topologyKey", {
      "x-kubernetes-list-map-keys": ["topologyKey", "whenUnsatisfiable"],
    }),
  ),
  os: Opt(Obj({ name: Str() })),
  hostUsers: Opt(Type.Boolean()),
  schedulingGates: Opt(MergeList(Obj({ name: Str() }), "name")),
  resourceClaims: Opt(MergeList(Opaque("PodResourceClaim references one ResourceClaim."), "name", { "x-kubernetes-patch-strategy": "merge,retainKeys" })),
  resources: Opt(ResourceRequirementsSchema),
});

export const PodTemplateSpecSchema = Obj({
  metadata: Opt(ObjectMetaSchema),
  spec: Opt(PodSpecSchema),
});

export type Container = Static<typeof ContainerSchema>;
export type ContainerPort = Static<typeof ContainerPortSchema>;
export type Probe = Static<typeof ProbeSchema>;
export type Volume = Static<typeof VolumeSchema>;
export type Toleration = Static<typeof TolerationSchema>;
export type PodSpec = Static<typeof PodSpecSchema>;
export type PodTemplateSpec = Static<typeof PodTemplateSpecSchema>;
export type Affinity = Static<typeof AffinitySchema>;
