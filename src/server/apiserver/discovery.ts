// Discovery documents (/version, /api, /apis, /api/v1, /apis/<group>/<version>). kubectl asks for
// the aggregated v2 form first; answering with the legacy documents makes it fall back to them.
import { SUBRESOURCE_KINDS, type KindIdentity } from "../../api/kinds";
import type { ResourceDef } from "../../api/resource";

export const KUBERNETES_VERSION = { major: "1", minor: "32", gitVersion: "v1.32.0+bramble" };

export function versionInfo(brambleVersion: string) {
  return {
    ...KUBERNETES_VERSION,
    gitCommit: brambleVersion,
    gitTreeState: "clean",
    buildDate: "1970-01-01T00:00:00Z",
    goVersion: `bun${Bun.version}`,
    compiler: "bun",
    platform: `${process.platform}/${process.arch === "x64" ? "amd64" : process.arch}`,
  };
}

const VERBS_BY_SUBRESOURCE: Record<string, string[]> = {
  status: ["get", "patch", "update"],
  scale: ["get", "patch", "update"],
  binding: ["create"],
  eviction: ["create"],
  log: ["get"],
  exec: ["create", "get"],
  attach: ["create", "get"],
  portforward: ["create", "get"],
  token: ["create"],
  proxy: ["create", "delete", "get", "patch", "update"],
  ephemeralcontainers: ["get", "patch", "update"],
};

/** `createOnly`: kinds that are only created and answered (the reviews), listed with the verb create. */
export function resourceList(groupVersion: string, defs: ResourceDef[], createOnly: KindIdentity[] = []) {
  const resources: unknown[] = [];
  for (const k of createOnly) resources.push({ name: k.plural, singularName: k.singular, namespaced: k.namespaced, kind: k.kind, verbs: ["create"] });
  for (const d of defs) {
    resources.push({
      name: d.plural,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
      shortNames: d.shortNames.length ? d.shortNames : undefined,
      categories: d.categories.length ? d.categories : undefined,
    });
    for (const sub of d.subresources) {
      // A subresource whose body is another kind names it, and its group-version when that
      // differs from the parent's (pods/eviction: policy/v1 Eviction); the others are the parent.
      const body = sub in SUBRESOURCE_KINDS ? SUBRESOURCE_KINDS[sub as keyof typeof SUBRESOURCE_KINDS] : d;
      const elsewhere = body.group !== d.group || body.version !== d.version;
      resources.push({
        name: `${d.plural}/${sub}`,
        singularName: "",
        namespaced: d.namespaced,
        kind: body.kind,
        ...(elsewhere && { group: body.group, version: body.version }),
        verbs: VERBS_BY_SUBRESOURCE[sub] ?? ["get"],
      });
    }
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion, resources };
}

/** The resource list of a group-version of read-only kinds (VIRTUAL_KINDS): get and list only. */
export function readOnlyResourceList(groupVersion: string, kinds: KindIdentity[]) {
  const resources = kinds.map((k) => ({ name: k.plural, singularName: k.singular, namespaced: k.namespaced, kind: k.kind, verbs: ["get", "list"] }));
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion, resources };
}

/** Distinct groups (other than core) with their versions, in first-seen order. */
export function groupsOf(defs: Pick<KindIdentity, "group" | "version">[]): { name: string; versions: string[] }[] {
  const groups = new Map<string, Set<string>>();
  for (const d of defs) if (d.group) (groups.get(d.group) ?? groups.set(d.group, new Set()).get(d.group)!).add(d.version);
  return [...groups].map(([name, versions]) => ({ name, versions: [...versions] }));
}

const groupDoc = (g: { name: string; versions: string[] }) => {
  const versions = g.versions.map((v) => ({ groupVersion: `${g.name}/${v}`, version: v }));
  return { kind: "APIGroup", apiVersion: "v1", name: g.name, versions, preferredVersion: versions[0] };
};

export function apiGroupList(defs: Pick<KindIdentity, "group" | "version">[]) {
  return { kind: "APIGroupList", apiVersion: "v1", groups: groupsOf(defs).map(groupDoc) };
}

export function apiGroup(defs: Pick<KindIdentity, "group" | "version">[], name: string) {
  const g = groupsOf(defs).find((x) => x.name === name);
  return g && groupDoc(g);
}

export function apiVersions(serverAddress: string) {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}
