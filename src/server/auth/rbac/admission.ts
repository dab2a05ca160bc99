// The escalation check as an admission step: a write of a Role, ClusterRole or binding by a
// user is refused with a 403 when it would grant what the user does not hold (escalation.ts).
import { forbidden } from "../../../api/errors";
import { RBAC_GROUP } from "../../../api/resources/rbac/rbac";
import type { AdmissionPlugin } from "../../apiserver/admission/admission";
import { requestUser } from "../../apiserver/request-user";
import { escalationProblem } from "./escalation";
import type { RbacIndex } from "./index";

export function rbacEscalationAdmission(index: RbacIndex): AdmissionPlugin {
  return {
    admit(_op, def, obj, old) {
      if (def.group !== RBAC_GROUP) return;
      const user = requestUser();
      if (!user) return;
      const problem = escalationProblem(index, user, def.kind, obj, old);
      if (problem) throw forbidden(`${def.plural}.${def.group} "${obj.metadata.name}" is forbidden: ${problem}`);
    },
  };
}
