// The review APIs, answered and never stored, as upstream's:
// - authorization.k8s.io/v1 SelfSubjectAccessReview (`kubectl auth can-i`), SubjectAccessReview
//   and LocalSubjectAccessReview (may another user...?), SelfSubjectRulesReview
//   (`kubectl auth can-i --list`);
// - authentication.k8s.io/v1 SelfSubjectReview (`kubectl auth whoami`) and TokenReview (who is
//   this token?).
// Who may create each is RBAC's to say (system:basic-user gives everyone the self reviews).
import { badRequest, fieldCauses, invalid } from "../../api/errors";
import { REVIEW_KINDS } from "../../api/kinds";
import type { PolicyRule } from "../../api/resources/rbac/rbac";
import { fieldInvalid } from "../../api/validation";
import type { CreateOnlyResource } from "../apiserver/index";
import type { Authenticator, UserInfo } from "./authenticator";
import type { Authorizer, RequestAttributes } from "./authorizer";
import { nodeNameOf } from "./node-credentials";
import { PRIVILEGED_GROUP, rbacAllows } from "./rbac/authorize";
import type { RbacIndex } from "./rbac/index";
import { API_AUDIENCES } from "./serviceaccount/claims";

interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}
interface AccessSpec {
  resourceAttributes?: ResourceAttributes | null;
  nonResourceAttributes?: { path?: string; verb?: string } | null;
  user?: string;
  groups?: string[];
  uid?: string;
}

export interface ReviewDeps {
  authorize: Authorizer;
  rbac: RbacIndex;
  authenticate: Authenticator;
}

const specOf = <T>(body: Record<string, unknown>) => (body.spec && typeof body.spec === "object" ? body.spec : {}) as T;
const metaOf = (body: Record<string, unknown>) => (body.metadata && typeof body.metadata === "object" ? (body.metadata as Record<string, unknown>) : {});

/** Upstream's ValidateSelfSubjectAccessReviewSpec (and the same check of the other two). */
function validateAccessSpec(kind: keyof typeof REVIEW_KINDS, spec: AccessSpec, needsSubject: boolean) {
  const errs = [];
  if (!spec.resourceAttributes && !spec.nonResourceAttributes)
    errs.push(fieldInvalid("spec.resourceAttributes", "null", "exactly one of nonResourceAttributes or resourceAttributes must be specified"));
  if (spec.resourceAttributes && spec.nonResourceAttributes)
    errs.push(fieldInvalid("spec.nonResourceAttributes", spec.nonResourceAttributes, "cannot be specified in combination with resourceAttributes"));
  if (needsSubject && !spec.user && !spec.groups?.length) errs.push(fieldInvalid("spec.user", spec.user ?? "", "at least one of user or group must be specified"));
  if (errs.length) throw invalid(REVIEW_KINDS[kind], "", fieldCauses(errs));
}

async function decide(deps: ReviewDeps, user: UserInfo, spec: AccessSpec): Promise<{ allowed: boolean; reason?: string }> {
  const r = spec.resourceAttributes;
  if (r) {
    const attrs: RequestAttributes = {
      verb: (r.verb ?? "") as RequestAttributes["verb"],
      group: r.group ?? "",
      resource: r.resource ?? "",
      subresource: r.subresource || undefined,
      namespace: r.namespace || undefined,
      name: r.name || undefined,
    };
    const d = await deps.authorize(user, attrs);
    return d.allowed ? { allowed: true } : { allowed: false, ...(d.reason ? { reason: d.reason } : {}) };
  }
  const n = spec.nonResourceAttributes ?? {};
  const allowed = user.groups.includes(PRIVILEGED_GROUP) || rbacAllows(deps.rbac, user, { verb: n.verb ?? "", path: n.path ?? "" });
  return { allowed };
}

/** A review's answer: what was sent (without status), then the status. */
const answer = (body: Record<string, unknown>, spec: unknown, status: unknown) => ({ metadata: { ...metaOf(body), creationTimestamp: null }, spec, status });

/** The rules that apply to `user` in `namespace`, split as SubjectRulesReviewStatus lists them. */
function rulesReviewStatus(deps: ReviewDeps, user: UserInfo, namespace: string | undefined) {
  const rules: PolicyRule[] = deps.rbac.rulesFor(user, namespace);
  const resourceRules = rules
    .filter((r) => r.resources?.length)
    .map((r) => ({ verbs: r.verbs, apiGroups: r.apiGroups ?? [], resources: r.resources, ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}) }));
  const nonResourceRules = rules.filter((r) => r.nonResourceURLs?.length).map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs }));
  // The node rules depend on the objects asked about: they cannot be listed (upstream says the same).
  const incomplete = nodeNameOf(user) !== undefined;
  return { resourceRules, nonResourceRules, incomplete, ...(incomplete ? { evaluationError: "node authorizer does not support user rule resolution" } : {}) };
}

const userInfoOf = (u: UserInfo) => ({ username: u.user, groups: u.groups });

export function reviewResources(deps: ReviewDeps): CreateOnlyResource[] {
  return [
    {
      identity: REVIEW_KINDS.selfSubjectAccessReviews,
      async create(user, body) {
        const spec = specOf<AccessSpec>(body);
        validateAccessSpec("selfSubjectAccessReviews", spec, false);
        return answer(body, spec, await decide(deps, user, spec));
      },
    },
    {
      identity: REVIEW_KINDS.subjectAccessReviews,
      async create(_user, body) {
        const spec = specOf<AccessSpec>(body);
        validateAccessSpec("subjectAccessReviews", spec, true);
        return answer(body, spec, await decide(deps, { user: spec.user ?? "", groups: spec.groups ?? [] }, spec));
      },
    },
    {
      identity: REVIEW_KINDS.localSubjectAccessReviews,
      async create(_user, body, namespace) {
        const spec = specOf<AccessSpec>(body);
        validateAccessSpec("localSubjectAccessReviews", spec, true);
        if (spec.nonResourceAttributes) throw badRequest("disallowed on this kind of request");
        const ns = spec.resourceAttributes?.namespace;
        if (ns && ns !== namespace) throw badRequest(`spec.resourceAttributes.namespace must match namespace: ${namespace}`);
        const scoped = { ...spec, resourceAttributes: { ...spec.resourceAttributes, namespace } };
        return { ...answer(body, scoped, await decide(deps, { user: spec.user ?? "", groups: spec.groups ?? [] }, scoped)), metadata: { ...metaOf(body), namespace, creationTimestamp: null } };
      },
    },
    {
      identity: REVIEW_KINDS.selfSubjectRulesReviews,
      create(user, body) {
        const spec = specOf<{ namespace?: string }>(body);
        return answer(body, spec, rulesReviewStatus(deps, user, spec.namespace || undefined));
      },
    },
    {
      identity: REVIEW_KINDS.selfSubjectReviews,
      create(user, body) {
        return { metadata: { ...metaOf(body), creationTimestamp: null }, status: { userInfo: userInfoOf(user) } };
      },
    },
    {
      identity: REVIEW_KINDS.tokenReviews,
      async create(_user, body) {
        const spec = specOf<{ token?: string; audiences?: string[] }>(body);
        if (!spec.token) throw badRequest("token is required for TokenReview in authentication");
        const found = await deps.authenticate(new Request("https://token-review/", { headers: { authorization: `Bearer ${spec.token}` } }));
        // Tokens are checked for the API server's own audience; a review asking for others gets
        // an answer only if its list includes that audience.
        const wanted = spec.audiences?.length ? spec.audiences : [...API_AUDIENCES];
        const audiences = wanted.filter((a) => API_AUDIENCES.includes(a));
        const status = found && audiences.length ? { authenticated: true, user: userInfoOf(found), audiences } : { user: {}, error: "[invalid bearer token]" };
        return { metadata: { ...metaOf(body), creationTimestamp: null }, spec: { ...spec, token: "" }, status };
      },
    },
  ];
}
