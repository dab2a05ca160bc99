// Names the persistent-volume controller, the scheduler, the local-path provisioner and the
// kubelet agree on. No schema code here: agents import this file.

/** Set on a claim by the scheduler: the node chosen for the first pod using it (WaitForFirstConsumer). */
export const SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node";
/** Set on a claim whose class has a provisioner that is asked to make its volume. */
export const STORAGE_PROVISIONER_ANNOTATION = "volume.kubernetes.io/storage-provisioner";
export const BETA_STORAGE_PROVISIONER_ANNOTATION = "volume.beta.kubernetes.io/storage-provisioner";
/** Set on a volume a provisioner made: which one. */
export const PROVISIONED_BY_ANNOTATION = "pv.kubernetes.io/provisioned-by";
/** The claim's binding is finished (upstream's pv_controller annotations). */
export const BIND_COMPLETED_ANNOTATION = "pv.kubernetes.io/bind-completed";
export const BOUND_BY_CONTROLLER_ANNOTATION = "pv.kubernetes.io/bound-by-controller";

/** The built-in provisioner, named as k3s's local-path-provisioner, and its default class. */
export const LOCAL_PATH_PROVISIONER = "rancher.io/local-path";
export const LOCAL_PATH_CLASS = "local-path";
/** The node a local-path volume lives on (as local-path-provisioner annotates it). */
export const LOCAL_PATH_NODE_ANNOTATION = "local.path.provisioner/selected-node";
