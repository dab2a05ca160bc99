// Authorization, checked by the API server before a request is dispatched. Admins may do
// anything. A node (system:node:<name>) gets what upstream's Node authorizer + NodeRestriction
// give a kubelet: write its own Node and Lease, the status of pods bound to it, Events; read
// what running its pods needs; tokens for its pods' service accounts, bound to those pods.
// Service accounts get a fixed read-only grant in their namespace (serviceaccount/authorize.ts).
// Anything else is a 403 worded like kube-apiserver's.
import { CLUSTER_NETWORK_CONFIGMAP } from "../../api/cluster-network";
import type { KubeObject } from "../../api/meta";
import type { UserInfo } from "./authenticator";
import { nodeNameOf } from "./node-credentials";
import { podReferences } from "./pod-references";
import { authorizeServiceAccount } from "./serviceaccount/authorize";
import { serviceAccountOf } from "./serviceaccount/claims";

export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "deletecollection";

export interface RequestAttributes {
  verb: Verb;
  group: string;
  /** Plural, e.g. "pods". */
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  fieldSelector?: string;
  /** metadata.name of the object in a create's body; read only when a rule needs it. */
  bodyName?: () => Promise<string | undefined>;
  /** The parsed body of a create (undefined if it is not JSON); read only when a rule needs it. */
  body?: () => Promise<unknown>;
}

/** What the rules read from the cluster: a synchronous view of the API server's cache. */
export interface AuthorizerView {
  getPod(namespace: string, name: string): KubeObject | undefined;
  /** Pods in `namespace` whose spec.nodeName is `node`. */
  podsOnNode(namespace: string, node: string): KubeObject[];
}

export type Decision = { allowed: true } | { allowed: false; reason?: string };
export type Authorizer = (user: UserInfo, attrs: RequestAttributes) => Decision | Promise<Decision>;

const ALLOW: Decision = { allowed: true };
const deny = (reason?: string): Decision => ({ allowed: false, reason });
const READ = new Set<Verb>(["get", "list", "watch"]);
const WRITE_OWN = new Set<Verb>(["get", "update", "patch", "delete"]);
/** Read by any node: a kubelet needs them for DNS, env vars, service links and node status. */
const READABLE = new Set(["/services", "/endpoints", "/namespaces", "/nodes", "/serviceaccounts", "discovery.k8s.io/endpointslices"]);

export function createAuthorizer(view: AuthorizerView): Authorizer {
  return (user, attrs) => {
    if (user.groups.includes("system:masters")) return ALLOW;
    const node = nodeNameOf(user);
    if (node !== undefined) return authorizeNode(view, node, attrs);
    const account = serviceAccountOf(user);
    if (account) return authorizeServiceAccount(account, attrs);
    return deny();
  };
}

/** The name in a fieldSelector "metadata.name=<x>" (as kubelets watch single objects), if any. */
const selectedField = (selector: string | undefined, field: string) =>
  selector
    ?.split(",")
    .map((t) => /^([^=!]+)==?(.*)$/.exec(t.trim()))
    .find((m) => m?.[1] === field)?.[2];

async function authorizeNode(view: AuthorizerView, node: string, a: RequestAttributes): Promise<Decision> {
  const key = `${a.group}/${a.resource}`;
  const sub = a.subresource;
  if (READABLE.has(key) && READ.has(a.verb) && !sub) return ALLOW;
  if ((key === "/events" || key === "events.k8s.io/events") && ["create", "update", "patch"].includes(a.verb)) return ALLOW;

  if (key === "/nodes") {
    if (a.verb === "create") return (await a.bodyName?.()) === node ? ALLOW : deny(`node "${node}" can only create its own Node object`);
    if (WRITE_OWN.has(a.verb) && (sub === undefined || sub === "status")) {
      return a.name === node ? ALLOW : deny(`node "${node}" is not allowed to modify node "${a.name}"`);
    }
    return deny();
  }

  if (key === "coordination.k8s.io/leases") {
    if (a.namespace !== "kube-node-lease") return deny(`node "${node}" can only access its Lease in the kube-node-lease namespace`);
    if (a.verb === "create") return (await a.bodyName?.()) === node ? ALLOW : deny(`node "${node}" can only create its own Lease`);
    return WRITE_OWN.has(a.verb) && a.name === node ? ALLOW : deny(`node "${node}" can only access its own Lease`);
  }

  if (key === "/pods") {
    if ((a.verb === "list" || a.verb === "watch") && !sub) {
      return selectedField(a.fieldSelector, "spec.nodeName") === node ? ALLOW : deny(`node "${node}" can only list and watch pods with fieldSelector spec.nodeName=${node}`);
    }
    const pod = a.namespace && a.name ? view.getPod(a.namespace, a.name) : undefined;
    const bound = (pod as { spec?: { nodeName?: string } } | undefined)?.spec?.nodeName === node;
    const allowedHere = sub === undefined ? ["get", "delete"].includes(a.verb) : sub === "status" ? ["get", "update", "patch"].includes(a.verb) : false;
    if (!allowedHere) return deny();
    // A missing pod is answered as upstream's authorizer does: no relationship, no access.
    return bound ? ALLOW : deny(`no relationship found between node '${node}' and this object`);
  }

  if (key === "/serviceaccounts" && sub === "token") return a.verb === "create" ? authorizeNodeToken(view, node, a) : deny();

  if (key === "/secrets" || key === "/configmaps") {
    if (!READ.has(a.verb) || sub || !a.namespace) return deny();
    const name = a.verb === "get" ? a.name : selectedField(a.fieldSelector, "metadata.name");
    if (!name) return deny(`node "${node}" can only read ${a.resource} by name`);
    // Every node follows the cluster's networking settings (src/api/cluster-network.ts).
    if (key === "/configmaps" && a.namespace === CLUSTER_NETWORK_CONFIGMAP.namespace && name === CLUSTER_NETWORK_CONFIGMAP.name) return ALLOW;
    const referenced = view.podsOnNode(a.namespace, node).some((p) => {
      const refs = podReferences(p);
      return (key === "/secrets" ? refs.secrets : refs.configMaps).has(name);
    });
    return referenced ? ALLOW : deny(`no relationship found between node '${node}' and this object`);
  }
  return deny();
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
