// persistentVolumeClaim volumes: the claim (read through the API) names its bound volume, and the
// volume's source is mounted like a pod volume of the same kind. hostPath volumes (what the
// local-path provisioner makes) are created when their type says so, local volumes must exist,
// nfs volumes are mounted with the host's mount.nfs under the pod's volume directory (and
// unmounted with it). A volume of access mode ReadWriteOncePod is set up for one pod of the node
// at a time, as upstream's volume manager does: a second pod waits in ContainerCreating.
import { chmodSync, existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { PersistentVolume } from "../../api/resources/core/persistentvolume";
import type { PersistentVolumeClaim } from "../../api/resources/core/persistentvolumeclaim";
import { LOCAL_PATH_PROVISIONER, PROVISIONED_BY_ANNOTATION } from "../../api/storage-annotations";

export interface ClaimSources {
  persistentVolumeClaim(name: string): Promise<PersistentVolumeClaim | undefined>;
  persistentVolume(name: string): Promise<PersistentVolume | undefined>;
}

export interface MountedClaim {
  hostPath: string;
  readOnly: boolean;
}

const NFS_HELPERS = ["/sbin/mount.nfs", "/usr/sbin/mount.nfs"];

/** Mounts nfs `server:path` on dir; throws with the reason (mount.nfs missing, mount's own error). */
export type NfsMounter = (server: string, path: string, dir: string, readOnly: boolean, options: string[]) => void;

export const hostNfsMounter: NfsMounter = (server, path, dir, readOnly, options) => {
  if (!NFS_HELPERS.some((p) => existsSync(p))) throw new Error(`mount.nfs is not installed on this node (install nfs-common or nfs-utils) to mount ${server}:${path}`);
  const opts = [...options, ...(readOnly ? ["ro"] : [])];
  const r = Bun.spawnSync(["mount", "-t", "nfs", ...(opts.length ? ["-o", opts.join(",")] : []), `${server}:${path}`, dir], { stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`mount -t nfs ${server}:${path} failed: ${r.stderr.toString().trim() || `exit status ${r.exitCode}`}`);
};

const isMountPoint = (dir: string) => {
  try {
    return statSync(dir).dev !== statSync(join(dir, "..")).dev;
  } catch {
    return false;
  }
};

/** An nfs volume (pod volume or PersistentVolume source) mounted at <base>/kubernetes.io~nfs/<name>. */
export function mountNfs(nfs: { server: string; path: string; readOnly?: boolean }, base: string, name: string, options: string[], mounter: NfsMounter): MountedClaim {
  const dir = join(base, "kubernetes.io~nfs", name);
  mkdirSync(dir, { recursive: true });
  if (!isMountPoint(dir)) mounter(nfs.server, nfs.path, dir, !!nfs.readOnly, options);
  return { hostPath: dir, readOnly: !!nfs.readOnly };
}

/** Takes a ReadWriteOncePod volume for the pod being set up; false when another pod of the node has it. */
export type SingleWriterHold = (volumeName: string) => boolean;

export const SINGLE_WRITER_IN_USE = "volume uses the ReadWriteOncePod access mode and is already in use by another pod";

/** The host directory for a claim volume, or an error naming what is missing. */
export async function mountClaim(
  claimName: string,
  readOnly: boolean,
  volumeName: string,
  base: string,
  sources: ClaimSources,
  mounter: NfsMounter = hostNfsMounter,
  holdSingleWriter?: SingleWriterHold,
): Promise<MountedClaim> {
  const claim = await sources.persistentVolumeClaim(claimName);
  if (!claim) throw new Error(`persistentvolumeclaim "${claimName}" not found`);
  const pvName = claim.spec?.volumeName;
  if (!pvName || claim.status?.phase !== "Bound") throw new Error(`persistentvolumeclaim "${claimName}" is not bound`);
  const pv = await sources.persistentVolume(pvName);
  if (!pv) throw new Error(`persistentvolume "${pvName}" not found`);
  if (pv.spec?.claimRef?.uid && pv.spec.claimRef.uid !== claim.metadata.uid) throw new Error(`persistentvolume "${pvName}" is bound to another claim`);
  const spec = pv.spec ?? {};
  if (spec.accessModes?.includes("ReadWriteOncePod") && holdSingleWriter && !holdSingleWriter(pvName)) throw new Error(SINGLE_WRITER_IN_USE);
  if (spec.hostPath) {
    const p = spec.hostPath.path;
    const type = spec.hostPath.type ?? "";
    if (type === "DirectoryOrCreate" && !existsSync(p)) {
      mkdirSync(p, { recursive: true, mode: 0o777 });
      // local-path volumes are writable by any container user, as the provisioner makes them.
      if (pv.metadata.annotations?.[PROVISIONED_BY_ANNOTATION] === LOCAL_PATH_PROVISIONER) chmodSync(p, 0o777);
    } else if (type !== "" && type !== "DirectoryOrCreate" && !existsSync(p)) throw new Error(`hostPath ${p} of persistentvolume "${pvName}" does not exist (type ${type})`);
    return { hostPath: p, readOnly };
  }
  if (spec.local) {
    if (!existsSync(spec.local.path)) throw new Error(`path "${spec.local.path}" of local persistentvolume "${pvName}" does not exist`);
    return { hostPath: spec.local.path, readOnly };
  }
  if (spec.nfs) {
    const m = mountNfs(spec.nfs, base, volumeName, spec.mountOptions ?? [], mounter);
    return { hostPath: m.hostPath, readOnly: readOnly || m.readOnly };
  }
  throw new Error(`persistentvolume "${pvName}" has a volume source bramble cannot mount (hostPath, local and nfs are supported)`);
}
