// Impersonation (`kubectl --as`, `--as-group`, `--as-uid`): a user allowed the `impersonate`
// verb on users, groups, serviceaccounts (service-account user names) or uids acts as someone
// else, checked and worded as upstream's WithImpersonation filter. The request is then served,
// and authorized, as the impersonated user.
import { badRequest, forbidden } from "../../api/errors";
import type { UserInfo } from "./authenticator";
import { forbiddenMessage, type Authorizer, type RequestAttributes } from "./authorizer";

const SA_PREFIX = "system:serviceaccount:";
const USER = "impersonate-user";
const GROUP = "impersonate-group";
const UID = "impersonate-uid";
const EXTRA = "impersonate-extra-";

const hasImpersonation = (h: Headers) => {
  if (h.has(USER) || h.has(GROUP) || h.has(UID)) return true;
  for (const k of h.keys()) if (k.startsWith(EXTRA)) return true;
  return false;
};

/** The user a request acts as: `user` itself, or whom its Impersonate-* headers name if `user` may impersonate them. */
export async function impersonatedUser(authorize: Authorizer, user: UserInfo, req: Request): Promise<UserInfo> {
  const h = req.headers;
  if (!hasImpersonation(h)) return user;
  const name = h.get(USER) ?? "";
  // Several Impersonate-Group headers arrive joined by ", ".
  const groups = (h.get(GROUP) ?? "").split(",").map((g) => g.trim()).filter(Boolean);
  const uid = h.get(UID);
  const extras = [...h.keys()].filter((k) => k.startsWith(EXTRA));
  if (!name) {
    const what = [...groups.map((g) => `group "${g}"`), ...(uid ? [`uid "${uid}"`] : []), ...extras.map((k) => `extra "${k.slice(EXTRA.length)}"`)];
    throw badRequest(`requested ${what.join(", ")} without impersonating a user`);
  }
  const check = async (attrs: RequestAttributes) => {
    const d = await authorize(user, attrs);
    if (!d.allowed) throw forbidden(forbiddenMessage(user, attrs, d.reason));
  };
  const base = { verb: "impersonate" as RequestAttributes["verb"] };
  let serviceAccountGroups: string[] = [];
  if (name.startsWith(SA_PREFIX) && name.slice(SA_PREFIX.length).split(":").length === 2) {
    const [namespace, account] = name.slice(SA_PREFIX.length).split(":") as [string, string];
    await check({ ...base, group: "", resource: "serviceaccounts", namespace, name: account });
    serviceAccountGroups = ["system:serviceaccounts", `system:serviceaccounts:${namespace}`];
  } else {
    await check({ ...base, group: "", resource: "users", name });
  }
  for (const g of groups) await check({ ...base, group: "", resource: "groups", name: g });
  if (uid) await check({ ...base, group: "authentication.k8s.io", resource: "uids", name: uid });
  for (const k of extras) await check({ ...base, group: "authentication.k8s.io", resource: "userextras", subresource: k.slice(EXTRA.length) });
  const result = groups.length ? [...groups] : serviceAccountGroups;
  if (name !== "system:anonymous" && !result.includes("system:authenticated")) result.push("system:authenticated");
  return { user: name, groups: result };
}
