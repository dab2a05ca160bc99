import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { Obj, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldForbidden, fieldInvalid, fieldNotSupported } from "../../validation";
import { Int32, nonNegative, NullableTime } from "../common";

const Opt = Type.Optional;

export const LeaseSpecSchema = Obj({
  holderIdentity: Opt(Type.String()),
  leaseDurationSeconds: Opt(Int32()),
  acquireTime: Opt(NullableTime),
  renewTime: Opt(NullableTime),
  leaseTransitions: Opt(Int32()),
  strategy: Opt(Type.String()),
  preferredHolder: Opt(Type.String()),
});

export const LeaseSchema = TopLevel({ spec: Opt(LeaseSpecSchema) }, "Lease defines a lease concept.");

export type Lease = Static<typeof LeaseSchema> & KubeObject;

function validateLease(lease: Lease): FieldError[] {
  const spec = lease.spec ?? {};
  const errs: FieldError[] = [];
  if (spec.leaseDurationSeconds !== undefined && spec.leaseDurationSeconds <= 0)
    errs.push(fieldInvalid("spec.leaseDurationSeconds", spec.leaseDurationSeconds, "must be greater than 0"));
  errs.push(...nonNegative(spec.leaseTransitions, "spec.leaseTransitions"));
  if (spec.strategy !== undefined && spec.strategy !== "OldestEmulationVersion")
    errs.push(fieldNotSupported("spec.strategy", spec.strategy, ["OldestEmulationVersion"]));
  if (spec.preferredHolder && !spec.strategy)
    errs.push(fieldForbidden("spec.preferredHolder", "may only be specified if `strategy` is defined"));
  return errs;
}

/**
 * A renewal changes nothing but spec.renewTime: nodes' Leases in kube-node-lease every 10 s, the
 * controller manager's leader Lease every 2 s. Leader election and the node lifecycle controller
 * judge staleness by when *they* saw a renewal, not by renewTime, so an old persisted renewTime
 * after a restart neither makes a node look lost nor steals leadership. Anything else about a
 * Lease (a new holder, a new duration) is durable.
 */
function isLeaseRenewal(old: Lease, next: Lease, same: (a: Lease, b: Lease) => boolean): boolean {
  const [was, now] = [old.spec, next.spec];
  if (!was || !now || was.holderIdentity !== now.holderIdentity || was.renewTime === now.renewTime) return false;
  return same({ ...old, spec: { ...was, renewTime: undefined } }, { ...next, spec: { ...now, renewTime: undefined } });
}

export const leases: ResourceDef<Lease> = {
  ...KINDS.leases,
  schema: LeaseSchema,
  subresources: [],
  hasStatus: false,
  defaults() {},
  validate: validateLease,
  isHeartbeat: isLeaseRenewal,
  table: {
    columns: [nameColumn, column("Holder", "holderIdentity contains the identity of the holder of a current lease."), ageColumn],
    row: (l, now) => [l.metadata.name, l.spec?.holderIdentity ?? "", age(l.metadata.creationTimestamp, now)],
  },
};
