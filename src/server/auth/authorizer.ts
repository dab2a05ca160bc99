// Authorization, checked by the API server before a request is dispatched, as upstream's chain
// Node,RBAC. Members of system:masters (the admin) may do anything. A node (system:node:<name>)
// gets what upstream's Node authorizer + NodeRestriction give a kubelet: write its own Node and
// Lease, the status of pods bound to it, Events; read the pods bound to it and, one by one, the
// Secrets and ConfigMaps those pods refer to; tokens for its pods' service accounts, bound to
// those pods. Everything else — and whatever the node rules refuse — is RBAC's to allow
// (rbac/: roles and bindings). Anything neither allows is a 403 worded like kube-apiserver's.
import { CLUSTER_NETWORK_CONFIGMAP } from "../../api/cluster-network";
import { KINDS } from "../../api/kinds";
import type { KubeObject } from "../../api/meta";
import type { FieldSelector } from "../../api/selectors";
import type { UserInfo } from "./authenticator";
import { nodeNameOf } from "./node-credentials";
import { LOCAL_PATH_NODE_ANNOTATION, LOCAL_PATH_PROVISIONER, PROVISIONED_BY_ANNOTATION } from "../../api/storage-annotations";
import { nodeCreateProblem, nodeWriteProblem } from "./node-restriction";
import { podReferences } from "./pod-references";
import { rbacAllows } from "./rbac/authorize";
import type { RbacIndex } from "./rbac/index";
import { ingressMayReadSecret, type IngressSecretView } from "./ingress-secrets";

export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "deletecollection";

export interface RequestAttributes {
  verb: Verb;
  group: string;
  /** Plural, e.g. "pods". */
  resource: string;
  subresource?: string;
  namespace?: string;
  /** From the path; for a list or watch, the name its field selector pins (upstream's RequestInfo). */
  name?: string;
  /** As the list and watch handlers parse it; undefined when absent or when it does not parse. */
  fieldSelector?: FieldSelector;
  /** metadata.name of the object in a create's body; read only when a rule needs it. */
  bodyName?: () => Promise<string | undefined>;
  /** The parsed body (undefined if it is not JSON); read only when a rule needs it. */
  body?: () => Promise<unknown>;
  /** The request's Content-Type: which format a patch is in. */
  contentType?: string;
}

/** What the rules read from the cluster: a synchronous view of the API server's cache. */
export interface AuthorizerView {
  /** The nodes enforce NetworkPolicies: they may list and watch every pod, for the policies' peers. */
  networkPolicy?: boolean;
  getPod(namespace: string, name: string): KubeObject | undefined;
  /** The stored Node, to judge what a node's write of it changes. */
  getNode?(name: string): KubeObject | undefined;
  /** Pods in `namespace` whose spec.nodeName is `node`. */
  podsOnNode(namespace: string, node: string): KubeObject[];
  /** Roles and bindings; without it only the admin and the node rules allow anything. */
  rbac?: RbacIndex;
  /** The stored PersistentVolume, to judge a node's delete of a local-path volume. */
  getVolume?(name: string): KubeObject | undefined;
  /** For the nodes' ingress controller: Ingresses, their classes and TLS Secrets (ingress-secrets.ts). */
  ingress?: IngressSecretView;
}

export type Decision = { allowed: true } | { allowed: false; reason?: string };
export type Authorizer = (user: UserInfo, attrs: RequestAttributes) => Decision | Promise<Decision>;

const ALLOW: Decision = { allowed: true };
const deny = (reason?: string): Decision => ({ allowed: false, reason });
const READ = new Set<Verb>(["get", "list", "watch"]);
/**
 * Read by any node (upstream's system:node role): services and endpoints for env vars,
 * endpointslices for the proxy and DNS; ingresses and ingressclasses for the ingress controller
 * (as upstream's ingress controllers read them cluster-wide); networkpolicies and namespaces
 * (for their labels) for network policy enforcement; nodes for the pod
 * network (every node routes to every other node's podCIDR, which upstream leaves to flannel's
 * own credential). The grant is this explicit list; only the names come from the kind table.
 */
const READABLE = new Set([KINDS.services, KINDS.endpoints, KINDS.endpointSlices, KINDS.nodes, KINDS.ingresses, KINDS.ingressClasses, KINDS.networkPolicies, KINDS.namespaces].map((k) => `${k.group}/${k.plural}`));
const NO_RELATIONSHIP = (node: string) => deny(`no relationship found between node '${node}' and this object`);

export function createAuthorizer(view: AuthorizerView): Authorizer {
  return (user, attrs) => {
    if (user.groups.includes("system:masters")) return ALLOW;
    const viaRbac = () => view.rbac !== undefined && rbacAllows(view.rbac, user, attrs);
    const node = nodeNameOf(user);
    // The node rules' reason is the one given when RBAC does not allow it either.
    if (node !== undefined) return authorizeNode(view, node, attrs).then((d) => (d.allowed || !viaRbac() ? d : ALLOW));
    return viaRbac() ? ALLOW : deny();
  };
}

/** Whether the selector requires `field` to equal `value` (`=` or `==`, as upstream's selection.Equals). */
const requiresField = (selector: FieldSelector | undefined, field: string, value: string) =>
  selector?.requirements.some((r) => r.field === field && r.operator !== "!=" && r.value === value) ?? false;

async function authorizeNode(view: AuthorizerView, node: string, a: RequestAttributes): Promise<Decision> {
  const key = `${a.group}/${a.resource}`;
  const sub = a.subresource;
  if (READABLE.has(key) && READ.has(a.verb) && !sub) return ALLOW;
  if ((key === "/events" || key === "events.k8s.io/events") && ["create", "update", "patch"].includes(a.verb)) return ALLOW;

  if (key === "/nodes") {
    if (a.verb === "create") {
      if ((await a.bodyName?.()) !== node) return deny(`node "${node}" can only create its own Node object`);
      const problem = nodeCreateProblem(node, await a.body?.());
      return problem ? deny(problem) : ALLOW;
    }
    // Upstream's node rules have no delete of nodes: a kubelet does not remove its own Node.
    if ((a.verb === "update" || a.verb === "patch") && (sub === undefined || sub === "status")) {
      if (a.name !== node) return deny(`node "${node}" is not allowed to modify node "${a.name}"`);
      // A status write changes nothing but status (the object layer keeps the rest).
      if (sub === "status") return ALLOW;
      const problem = nodeWriteProblem(node, view.getNode?.(node), a.verb, await a.body?.(), a.contentType ?? "");
      return problem ? deny(problem) : ALLOW;
    }
    return deny();
  }

  if (key === "coordination.k8s.io/leases") {
    if (a.namespace !== "kube-node-lease") return deny(`node "${node}" can only access its Lease in the kube-node-lease namespace`);
    if (a.verb === "create") return (await a.bodyName?.()) === node ? ALLOW : deny(`node "${node}" can only create its own Lease`);
    return ["get", "update", "patch", "delete"].includes(a.verb) && a.name === node ? ALLOW : deny(`node "${node}" can only access its own Lease`);
  }

  if (key === "/pods") return authorizeNodePod(view, node, a);
  if (key === "/serviceaccounts" && sub === "token") return a.verb === "create" ? authorizeNodeToken(view, node, a) : deny();

  if (key === "/persistentvolumeclaims") {
    if (a.verb !== "get" || sub) return deny("can only get individual resources of this type");
    if (!a.namespace || !a.name) return deny("No Object name found");
    const name = a.name;
    const used = view.podsOnNode(a.namespace, node).some((p) => ((p as { spec?: { volumes?: { persistentVolumeClaim?: { claimName?: string } }[] } }).spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === name));
    return used ? ALLOW : NO_RELATIONSHIP(node);
  }
  // Volumes: read by every node (the kubelet resolves its pods' claims to them, and finds the
  // released local-path volumes on it to clean up), deleted only for local-path volumes on the node.
  if (key === "/persistentvolumes") {
    if (READ.has(a.verb) && !sub) return ALLOW;
    if (a.verb === "delete" && a.name) {
      const ann = view.getVolume?.(a.name)?.metadata.annotations ?? {};
      return ann[PROVISIONED_BY_ANNOTATION] === LOCAL_PATH_PROVISIONER && ann[LOCAL_PATH_NODE_ANNOTATION] === node ? ALLOW : deny(`node "${node}" can only delete local-path volumes on it`);
    }
    return deny();
  }

  if (key === "/secrets" || key === "/configmaps") {
    if (!READ.has(a.verb)) return deny("can only read resources of this type");
    if (sub) return deny("cannot read subresource");
    if (!a.namespace) return deny("can only read namespaced object of this type");
    // One object at a time: a get by name, or a list/watch whose field selector pins the name.
    const name = a.name;
    if (!name) return deny("No Object name found");
    // Every node follows the cluster's networking settings (src/api/cluster-network.ts).
    if (key === "/configmaps" && a.namespace === CLUSTER_NETWORK_CONFIGMAP.namespace && name === CLUSTER_NETWORK_CONFIGMAP.name) return ALLOW;
    const referenced = view.podsOnNode(a.namespace, node).some((p) => {
      const refs = podReferences(p);
      return (key === "/secrets" ? refs.secrets : refs.configMaps).has(name);
    });
    if (referenced) return ALLOW;
    // The TLS certificates of the Ingresses the node's ingress controller serves.
    if (key === "/secrets" && view.ingress && ingressMayReadSecret(view.ingress, a.namespace, name)) return ALLOW;
    return NO_RELATIONSHIP(node);
  }
  return deny();
}

/**
 * Pods: list and watch its own (all of them while network policies are enforced: their peers); get, delete, status updates and evictions of pods bound to it.
 * Creating pods (upstream's mirror pods) is not something bramble's kubelet does.
 */
function authorizeNodePod(view: AuthorizerView, node: string, a: RequestAttributes): Decision {
  const sub = a.subresource;
  const bound = () => {
    const pod = a.namespace && a.name ? view.getPod(a.namespace, a.name) : undefined;
    // A missing pod is answered as upstream's authorizer does: no relationship, no access.
    return (pod as { spec?: { nodeName?: string } } | undefined)?.spec?.nodeName === node ? ALLOW : NO_RELATIONSHIP(node);
  };
  if (sub === undefined && (a.verb === "list" || a.verb === "watch")) {
    // Every pod while the cluster enforces network policies: a policy's peers are pods on any
    // node, known by their labels and IPs (k3s's agents read them cluster-wide likewise). A get
    // stays limited to the pods bound to the node. Otherwise, only its own pods.
    if (view.networkPolicy) return ALLOW;
    if (requiresField(a.fieldSelector, "spec.nodeName", node)) return ALLOW;
    if (a.name) return bound();
    return deny("can only list/watch pods with spec.nodeName field selector");
  }
  const allowed = sub === undefined ? ["get", "delete"] : sub === "status" ? ["update", "patch"] : sub === "eviction" ? ["create"] : [];
  return allowed.includes(a.verb) ? bound() : deny();
}

/**
 * A kubelet may ask for a token of a service account only bound to a pod on its node that runs
 * as that account (upstream's Node authorizer + NodeRestriction, with their wording).
 */
async function authorizeNodeToken(view: AuthorizerView, node: string, a: RequestAttributes): Promise<Decision> {
  const body = (await a.body?.()) as { spec?: { boundObjectRef?: { kind?: string; name?: string; uid?: string } } } | undefined;
  const ref = body?.spec?.boundObjectRef;
  if (!ref || ref.kind !== "Pod" || !ref.name) return deny("node requested token not bound to a pod");
  if (!ref.uid) return deny("node requested token with a pod binding without a uid");
  const pod = a.namespace ? (view.getPod(a.namespace, ref.name) as { metadata: { uid?: string }; spec?: { nodeName?: string; serviceAccountName?: string } } | undefined) : undefined;
  if (!pod || pod.metadata.uid !== ref.uid) return deny("the UID in the bound object reference does not match the pod");
  if (pod.spec?.nodeName !== node) return deny("node requested token bound to a pod scheduled on a different node");
  if ((pod.spec?.serviceAccountName || "default") !== a.name) return deny(`no relationship found between node '${node}' and this object`);
  return ALLOW;
}

/** kube-apiserver's wording for a 403, e.g.
 *  nodes "b" is forbidden: User "system:node:a" cannot patch resource "nodes/status" in API group "" at the cluster scope: <reason> */
export function forbiddenMessage(user: UserInfo, a: RequestAttributes, reason?: string): string {
  const what = `${a.resource}${a.group ? `.${a.group}` : ""}${a.name ? ` "${a.name}"` : ""}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
  return `${what} is forbidden: User "${user.user}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" ${scope}${reason ? `: ${reason}` : ""}`;
}
