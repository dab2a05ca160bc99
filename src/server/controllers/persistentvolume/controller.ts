// The persistent-volume controller (upstream's pv_controller with the pv/pvc-protection
// controllers and, for rancher.io/local-path, the provisioner). One loop over two kinds of keys:
// "pv/<name>" and "pvc/<namespace>/<name>".
//
// A claim without spec.volumeName is matched to the smallest fitting volume (match.ts) and
// bound both ways: the volume's claimRef, then the claim's volumeName, then both statuses. A
// claim of a WaitForFirstConsumer class waits until the scheduler names a node for its first pod
// (volume.kubernetes.io/selected-node). With no volume to take, a class with the built-in
// provisioner gets one made; another provisioner is waited for.
//
// A volume whose claim is gone is Released; reclaim policy Retain keeps it so, Delete removes a
// local-path volume through the kubelet of its node (which deletes the directory, then the
// volume) and fails others, which bramble has no plugin to delete. Finalizers
// kubernetes.io/pvc-protection and kubernetes.io/pv-protection are removed once no pod uses the
// claim and the volume is bound to no claim.
import { ApiError } from "../../../api/errors";
import { compareQuantities, tryParseQuantity } from "../../../api/quantity";
import type { Node } from "../../../api/resources/core/node";
import { nodes as nodesDef } from "../../../api/resources/core/node";
import { persistentVolumes as pvDef, type PersistentVolume } from "../../../api/resources/core/persistentvolume";
import { persistentVolumeClaims as pvcDef, type PersistentVolumeClaim } from "../../../api/resources/core/persistentvolumeclaim";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import { storageClasses as scDef, type StorageClass } from "../../../api/resources/storage/storageclass";
import {
  BIND_COMPLETED_ANNOTATION,
  BOUND_BY_CONTROLLER_ANNOTATION,
  LOCAL_PATH_PROVISIONER,
  PROVISIONED_BY_ANNOTATION,
  SELECTED_NODE_ANNOTATION,
  STORAGE_PROVISIONER_ANNOTATION,
} from "../../../api/storage-annotations";
import type { KubeClient, ResourceClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import type { Informer } from "../../../client/informer";
import { ControlLoop, type ReconcileResult, type Reconciler } from "../../../machinery/controlloop";
import { PV_PROTECTION_FINALIZER, PVC_PROTECTION_FINALIZER } from "../../apiserver/admission/storage";
import type { SharedInformers } from "../informers";
import { claimClassOf, findMatchingVolume, isVolumeBoundToClaim } from "./match";
import { localPathVolume, provisionedVolumeName } from "./provision";

export const PV_CONTROLLER = "persistentvolume-controller";

export interface PersistentVolumeControllerOptions {
  /** Where local-path volumes live on the nodes; undefined leaves the built-in provisioner off. */
  localStorageRoot?: string;
}

const pvKey = (name: string) => `pv/${name}`;
const pvcKey = (namespace: string | undefined, name: string) => `pvc/${namespace ?? ""}/${name}`;

/** The claims a pod's volumes name. */
const claimNamesOf = (pod: Pod) => (pod.spec?.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : []));
const isTerminal = (pod: Pod) => pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";

export class PersistentVolumeController implements Reconciler {
  readonly name = PV_CONTROLLER;
  readonly loop: ControlLoop;
  private readonly volumes: Informer<PersistentVolume>;
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly classes: Informer<StorageClass>;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly pvClient: ResourceClient<PersistentVolume>;
  private readonly pvcClient: ResourceClient<PersistentVolumeClaim>;
  private readonly recorder: EventRecorder;
  private readonly expandRecorder: EventRecorder;
  /** Claim uid → the size whose ExternalExpanding event was recorded. */
  private readonly expansionsNoted = new Map<string, string>();

  constructor(
    client: KubeClient,
    private readonly shared: SharedInformers,
    private readonly opts: PersistentVolumeControllerOptions = {},
  ) {
    this.volumes = shared.get<PersistentVolume>(pvDef);
    this.claims = shared.get<PersistentVolumeClaim>(pvcDef);
    this.classes = shared.get<StorageClass>(scDef);
    this.pods = shared.get<Pod>(podsDef);
    this.nodes = shared.get<Node>(nodesDef);
    this.pvClient = client.resource<PersistentVolume>(pvDef);
    this.pvcClient = client.resource<PersistentVolumeClaim>(pvcDef);
    this.recorder = new EventRecorder(client, PV_CONTROLLER);
    this.expandRecorder = new EventRecorder(client, "volume_expand");
    this.loop = new ControlLoop(this, 2);

    const waitingClaims = () => {
      for (const c of this.claims.list()) if (!c.spec?.volumeName && !c.metadata.deletionTimestamp) this.loop.enqueue(pvcKey(c.metadata.namespace, c.metadata.name!));
    };
    const volumeChanged = (pv: PersistentVolume) => {
      this.loop.enqueue(pvKey(pv.metadata.name!));
      const ref = pv.spec?.claimRef;
      if (ref?.name) this.loop.enqueue(pvcKey(ref.namespace, ref.name));
      // A volume free to take may be what a waiting claim needs (upstream finds it on its periodic resync).
      else if (pv.status?.phase === "Available") waitingClaims();
    };
    const claimChanged = (pvc: PersistentVolumeClaim) => {
      this.loop.enqueue(pvcKey(pvc.metadata.namespace, pvc.metadata.name!));
      if (pvc.spec?.volumeName) this.loop.enqueue(pvKey(pvc.spec.volumeName));
    };
    const podChanged = (pod: Pod) => {
      for (const name of claimNamesOf(pod)) {
        const claim = this.claims.get(`${pod.metadata.namespace}/${name}`);
        if (claim?.metadata.deletionTimestamp) this.loop.enqueue(pvcKey(pod.metadata.namespace, name));
      }
    };
    shared.on(this.volumes, { add: volumeChanged, update: (_, pv) => volumeChanged(pv), delete: volumeChanged });
    shared.on(this.claims, { add: claimChanged, update: (_, c) => claimChanged(c), delete: (c) => {
        this.expansionsNoted.delete(c.metadata.uid!);
        claimChanged(c);
      },
    });
    shared.on(this.pods, { add: podChanged, update: (_, p) => podChanged(p), delete: podChanged });
    shared.on(this.classes, { add: waitingClaims, update: waitingClaims });
  }

  async start() {
    await Promise.all([this.volumes, this.claims, this.classes, this.pods, this.nodes].map((i) => this.shared.start(i)));
    this.loop.start();
  }

  async stop() {
    await this.loop.stop();
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    try {
      if (key.startsWith("pv/")) await this.syncVolume(key.slice(3));
      else await this.syncClaim(key.slice(4));
    } catch (e) {
      // Another writer won a race; the watch event for its write brings the key back.
      if (e instanceof ApiError && (e.code === 409 || e.code === 404)) return { requeueAfterMs: 100 };
      throw e;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Claims.

  private async syncClaim(key: string) {
    const claim = this.claims.get(key);
    if (!claim) return;
    if (claim.metadata.deletionTimestamp) return this.releaseClaimFinalizer(claim);
    if (!claim.spec?.volumeName) return this.syncUnboundClaim(claim);
    const pv = this.volumes.get(claim.spec.volumeName);
    if (!pv) {
      if (claim.status?.phase === "Bound" || claim.status?.phase === "Lost") {
        if (claim.status.phase !== "Lost") this.recorder.event(claim, "Warning", "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!");
        await this.setClaimPhase(claim, "Lost");
      } else this.recorder.event(claim, "Warning", "FailedBinding", `volume "${claim.spec.volumeName}" not found`);
      return;
    }
    if (!pv.spec?.claimRef || isVolumeBoundToClaim(pv, claim)) {
      await this.bind(pv, claim);
      return this.noteExpansion(claim);
    }
    // The volume is bound to another claim.
    if (claim.status?.phase !== "Lost") this.recorder.event(claim, "Warning", "ClaimMisbound", "Two claims are bound to the same volume, this one is bound incorrectly");
    await this.setClaimPhase(claim, "Lost");
  }

  private async syncUnboundClaim(claim: PersistentVolumeClaim) {
    const className = claimClassOf(claim);
    const sc = className ? this.classes.get(className) : undefined;
    const selected = claim.metadata.annotations?.[SELECTED_NODE_ANNOTATION];
    if (sc?.volumeBindingMode === "WaitForFirstConsumer" && !selected) {
      // A volume reserved for the claim (its claimRef names it) is bound at once, as upstream.
      const reserved = findMatchingVolume(claim, this.volumes.list().filter((pv) => isVolumeBoundToClaim(pv, claim)));
      if (reserved) return this.bind(reserved, claim);
      this.recorder.event(claim, "Normal", "WaitForFirstConsumer", "waiting for first consumer to be created before binding");
      return;
    }
    const node = selected ? this.nodes.get(selected) : undefined;
    const pv = findMatchingVolume(claim, this.volumes.list(), selected ? (node ?? { metadata: { name: selected } }) : undefined);
    if (pv) return this.bind(pv, claim);
    if (!className) {
      this.recorder.event(claim, "Normal", "FailedBinding", "no persistent volumes available for this claim and no storage class is set");
      return;
    }
    if (!sc) {
      this.recorder.event(claim, "Warning", "ProvisioningFailed", `storageclass.storage.k8s.io "${className}" not found`);
      return;
    }
    if (sc.provisioner === LOCAL_PATH_PROVISIONER && this.opts.localStorageRoot !== undefined)
      return this.provisionLocalPath(claim, sc, node ?? (selected ? ({ metadata: { name: selected } } as Node) : undefined));
    if (sc.provisioner === "kubernetes.io/no-provisioner") {
      this.recorder.event(claim, "Normal", "FailedBinding", "no persistent volumes available for this claim and no storage class is set");
      return;
    }
    if (claim.metadata.annotations?.[STORAGE_PROVISIONER_ANNOTATION] !== sc.provisioner) {
      const next = structuredClone(claim);
      (next.metadata.annotations ??= {})[STORAGE_PROVISIONER_ANNOTATION] = sc.provisioner;
      await this.pvcClient.update(next);
    }
    this.recorder.event(
      claim,
      "Normal",
      "ExternalProvisioning",
      `Waiting for a volume to be created either by the external provisioner '${sc.provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
    );
  }

  private async provisionLocalPath(claim: PersistentVolumeClaim, sc: StorageClass, node: Node | undefined) {
    const name = provisionedVolumeName(claim);
    if (this.volumes.get(name)) return; // made by an earlier pass; its add event brings the claim back
    const pv = localPathVolume(claim, sc, node, this.opts.localStorageRoot!);
    if ("error" in pv) {
      this.recorder.event(claim, "Warning", "ProvisioningFailed", `failed to provision volume with StorageClass "${sc.metadata.name}": ${pv.error}`);
      return;
    }
    const ref = `${claim.metadata.namespace}/${claim.metadata.name}`;
    this.recorder.event(claim, "Normal", "Provisioning", `External provisioner is provisioning volume for claim "${ref}"`);
    try {
      await this.pvClient.create(undefined, pv);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 409)) throw e;
    }
    this.recorder.event(claim, "Normal", "ProvisioningSucceeded", `Successfully provisioned volume ${name}`);
  }

  /** Binds both ways, each step only if not yet done (a pass may have been cut short). */
  private async bind(pv: PersistentVolume, claim: PersistentVolumeClaim) {
    const pvName = pv.metadata.name!;
    const ref = pv.spec?.claimRef;
    if (!ref || ref.uid !== claim.metadata.uid || ref.name !== claim.metadata.name || ref.namespace !== claim.metadata.namespace) {
      const next = structuredClone(pv);
      next.spec!.claimRef = { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid, resourceVersion: claim.metadata.resourceVersion };
      if (!ref) (next.metadata.annotations ??= {})[BOUND_BY_CONTROLLER_ANNOTATION] = "yes";
      pv = await this.pvClient.update(next);
    }
    if (pv.status?.phase !== "Bound") pv = await this.setVolumePhase(pv, "Bound");
    if (claim.spec?.volumeName !== pvName || claim.metadata.annotations?.[BIND_COMPLETED_ANNOTATION] !== "yes") {
      const next = structuredClone(claim);
      const byUs = next.spec!.volumeName !== pvName;
      next.spec!.volumeName = pvName;
      const ann = (next.metadata.annotations ??= {});
      ann[BIND_COMPLETED_ANNOTATION] = "yes";
      if (byUs) ann[BOUND_BY_CONTROLLER_ANNOTATION] = "yes";
      claim = await this.pvcClient.update(next);
    }
    const status = claim.status ?? {};
    const capacity = pv.spec?.capacity ?? {};
    if (status.phase !== "Bound" || JSON.stringify(status.accessModes ?? []) !== JSON.stringify(pv.spec?.accessModes ?? []) || JSON.stringify(status.capacity ?? {}) !== JSON.stringify(capacity)) {
      const next = structuredClone(claim);
      next.status = { ...next.status, phase: "Bound", accessModes: [...(pv.spec?.accessModes ?? [])], capacity: { ...capacity } };
      await this.pvcClient.updateStatus(next);
    }
  }

  /**
   * A bound claim asking for more than its capacity (admission let it grow: its class allows
   * expansion). No volume bramble makes can be grown, so it stays at its capacity with upstream's
   * expand controller's event for a volume without an expandable plugin, once per requested size.
   */
  private noteExpansion(claim: PersistentVolumeClaim) {
    const want = tryParseQuantity(claim.spec?.resources?.requests?.storage);
    const have = tryParseQuantity(claim.status?.capacity?.storage);
    const asked = String(claim.spec?.resources?.requests?.storage);
    if (!want || !have || compareQuantities(want, have) <= 0 || this.expansionsNoted.get(claim.metadata.uid!) === asked) return;
    this.expansionsNoted.set(claim.metadata.uid!, asked);
    this.expandRecorder.event(claim, "Normal", "ExternalExpanding", "waiting for an external controller to expand this PVC");
  }

  private async setClaimPhase(claim: PersistentVolumeClaim, phase: string) {
    if (claim.status?.phase === phase) return;
    const next = structuredClone(claim);
    next.status = { ...next.status, phase };
    await this.pvcClient.updateStatus(next);
  }

  /** pvc-protection: a claim being deleted keeps its finalizer while a pod that may run uses it. */
  private async releaseClaimFinalizer(claim: PersistentVolumeClaim) {
    if (!claim.metadata.finalizers?.includes(PVC_PROTECTION_FINALIZER)) return;
    const name = claim.metadata.name;
    const inUse = this.pods.list().some((p) => p.metadata.namespace === claim.metadata.namespace && !isTerminal(p) && claimNamesOf(p).includes(name!));
    if (inUse) return;
    const next = structuredClone(claim);
    next.metadata.finalizers = next.metadata.finalizers!.filter((f) => f !== PVC_PROTECTION_FINALIZER);
    await this.pvcClient.update(next);
  }

  // -------------------------------------------------------------------------------------------
  // Volumes.

  private async syncVolume(name: string) {
    const pv = this.volumes.get(name);
    if (!pv) return;
    const ref = pv.spec?.claimRef;
    if (pv.metadata.deletionTimestamp) {
      // pv-protection: held while a claim is bound to the volume.
      const claim = ref?.uid ? this.claims.get(`${ref.namespace}/${ref.name}`) : undefined;
      const bound = !!claim && claim.metadata.uid === ref?.uid && claim.spec?.volumeName === name;
      if (pv.metadata.finalizers?.includes(PV_PROTECTION_FINALIZER) && !bound) {
        const next = structuredClone(pv);
        next.metadata.finalizers = next.metadata.finalizers!.filter((f) => f !== PV_PROTECTION_FINALIZER);
        await this.pvClient.update(next);
      }
      return;
    }
    // Not bound, or reserved by an administrator for a claim that binds it on its own sync.
    if (!ref || !ref.uid) {
      await this.setVolumePhase(pv, "Available");
      return;
    }
    const claim = this.claims.get(`${ref.namespace}/${ref.name}`);
    if (claim && claim.metadata.uid === ref.uid) {
      if (claim.spec?.volumeName === name) await this.setVolumePhase(pv, "Bound");
      else if (!claim.spec?.volumeName) this.loop.enqueue(pvcKey(ref.namespace, ref.name!)); // binding under way
      else if (pv.metadata.annotations?.[BOUND_BY_CONTROLLER_ANNOTATION] === "yes") {
        // The claim took another volume: ours was only reserved by this controller, so free it.
        const next = structuredClone(pv);
        delete next.spec!.claimRef;
        delete next.metadata.annotations![BOUND_BY_CONTROLLER_ANNOTATION];
        await this.setVolumePhase(await this.pvClient.update(next), "Available");
      } else await this.setVolumePhase(pv, "Released");
      return;
    }
    // The claim is gone.
    if (pv.status?.phase !== "Released" && pv.status?.phase !== "Failed") {
      const released = await this.setVolumePhase(pv, "Released");
      return this.reclaim(released);
    }
    if (pv.status?.phase === "Released") await this.reclaim(pv);
  }

  private async reclaim(pv: PersistentVolume) {
    const policy = pv.spec?.persistentVolumeReclaimPolicy ?? "Retain";
    if (policy === "Retain") return;
    if (policy === "Delete") {
      // The kubelet of the volume's node removes the directory and then the volume.
      if (pv.metadata.annotations?.[PROVISIONED_BY_ANNOTATION] === LOCAL_PATH_PROVISIONER) return;
      const message = `error getting deleter volume plugin for volume "${pv.metadata.name}": no deletable volume plugin matched`;
      this.recorder.event(pv, "Warning", "VolumeFailedDelete", message);
      await this.setVolumePhase(pv, "Failed", message);
      return;
    }
    const message = `no volume plugin matched name: recycle of volume "${pv.metadata.name}" is not supported`;
    this.recorder.event(pv, "Warning", "VolumeFailedRecycle", message);
    await this.setVolumePhase(pv, "Failed", message);
  }

  private async setVolumePhase(pv: PersistentVolume, phase: string, message?: string): Promise<PersistentVolume> {
    if (pv.status?.phase === phase && (message === undefined || pv.status.message === message)) return pv;
    const next = structuredClone(pv);
    next.status = { phase, lastPhaseTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"), ...(message !== undefined && { message }) };
    return this.pvClient.updateStatus(next);
  }
}


