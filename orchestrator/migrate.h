/* The migration pipeline: a table of phases run for each VM of a plan,
 * at most maxInFlight at a time, polling EC2 in batches (one Describe
 * call a round for every VM waiting on it, not one per disk).
 *
 * Nothing is remembered locally.  Every resource the pipeline makes is
 * tagged (EC2) or labelled (Kubernetes) with the plan, the VM and the
 * source volume, or has a name derived from them, and every phase looks
 * for what it would make before making it, so a re-run after a crash at
 * any point resumes without duplicating anything.  The one fact that
 * cannot be found again, the instance's power state before it was
 * stopped, is written to the plan's ConfigMap first.
 */
#ifndef V2V_ORCH_MIGRATE_H
#define V2V_ORCH_MIGRATE_H

#include <stdbool.h>

#include "ec2.h"
#include "kube.h"
#include "plan.h"

struct orch_options {
  struct plan *plan;
  struct ec2_client *source;    /* the instances and snapshots */
  struct ec2_client *target;    /* the new volumes; == source unless
                                   cross-account */
  struct kube_config *kube;
  bool keep_on_failure;         /* leave target volumes, PV, PVC, Job */
};

/* Run or resume the plan.  Returns 0 if every VM migrated, 1 if some
 * failed (each was cleaned up as the plan says), or -errno for an error
 * before any VM was started (ERR says what).
 */
extern int orch_migrate (const struct orch_options *o, struct v2v_error *err);

/* Print one line per VM: phase, progress, error. */
extern int orch_status (const struct orch_options *o, struct v2v_error *err);

/* Delete what the plan left behind: its snapshots, conversion Jobs and
 * ConfigMap; with PURGE also the target volumes, PVs, PVCs and
 * VirtualMachines (undo a migration).
 */
extern int orch_cleanup (const struct orch_options *o, bool purge,
                         struct v2v_error *err);

#endif /* V2V_ORCH_MIGRATE_H */
