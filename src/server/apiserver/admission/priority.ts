// Upstream's Priority admission plugin. On pod create it resolves spec.priorityClassName (or,
// without one, the global default class) into spec.priority and spec.preemptionPolicy, and
// refuses a pod that names a missing class or carries a priority of its own that differs. On
// PriorityClass writes it keeps the global default unique.
import { sameResource, KINDS } from "../../../api/kinds";
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import type { Pod } from "../../../api/resources/core/pod";
import type { PriorityClass } from "../../../api/resources/scheduling/priorityclass";
import type { AdmissionPlugin } from "./admission";
import { forbiddenFor as refuse } from "./forbidden";

export interface PriorityClassLister {
  get(name: string): PriorityClass | undefined;
  list(): PriorityClass[];
}

/** The global default class; with several (written before the check existed), the lowest value wins, as upstream. */
export function defaultPriorityClass(classes: readonly PriorityClass[]): PriorityClass | undefined {
  let best: PriorityClass | undefined;
  for (const pc of classes) if (pc.globalDefault && (!best || (pc.value ?? 0) < (best.value ?? 0))) best = pc;
  return best;
}

export class PriorityAdmission implements AdmissionPlugin {
  constructor(private readonly classes: PriorityClassLister) {}

  admit(op: "create" | "update", def: ResourceDef, obj: KubeObject, old?: KubeObject): void {
    if (sameResource(def, KINDS.pods)) {
      if (op === "create") this.admitPod(def, obj as Pod);
      else this.keepPriority(obj as Pod, old as Pod);
    } else if (sameResource(def, KINDS.priorityClasses)) this.admitPriorityClass(def, op, obj as PriorityClass);
  }

  private admitPod(def: ResourceDef, pod: Pod) {
    const spec = (pod.spec ??= { containers: [] });
    let priority = 0;
    let policy: string | undefined;
    if (!spec.priorityClassName) {
      const dflt = defaultPriorityClass(this.classes.list());
      if (dflt) {
        spec.priorityClassName = dflt.metadata.name;
        priority = dflt.value ?? 0;
        policy = dflt.preemptionPolicy;
      }
    } else {
      const pc = this.classes.get(spec.priorityClassName);
      if (!pc) throw refuse(def, pod, `no PriorityClass with name ${spec.priorityClassName} was found`);
      priority = pc.value ?? 0;
      policy = pc.preemptionPolicy;
    }
    if (spec.priority !== undefined && spec.priority !== null && spec.priority !== priority)
      throw refuse(def, pod, `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`);
    spec.priority = priority;
    if (policy) {
      if (spec.preemptionPolicy && spec.preemptionPolicy !== policy)
        throw refuse(def, pod, `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`);
      spec.preemptionPolicy = policy;
    }
  }

  /** The priority set on create stays with the pod, whatever an update sends. */
  private keepPriority(pod: Pod, old: Pod | undefined) {
    if (!pod.spec || !old?.spec) return;
    if (pod.spec.priority === undefined && old.spec.priority !== undefined) pod.spec.priority = old.spec.priority;
    if (pod.spec.preemptionPolicy === undefined && old.spec.preemptionPolicy !== undefined) pod.spec.preemptionPolicy = old.spec.preemptionPolicy;
  }

  private admitPriorityClass(def: ResourceDef, op: "create" | "update", pc: PriorityClass) {
    if (!pc.globalDefault) return;
    const dflt = defaultPriorityClass(this.classes.list());
    if (dflt && (op === "create" || dflt.metadata.name !== pc.metadata.name))
      throw refuse(def, pc, `PriorityClass ${dflt.metadata.name} is marked as default. Only one default can exist`);
  }
}
