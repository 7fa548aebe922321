/* share: cross-account only, let the target account create volumes from
 * the snapshots (ModifySnapshotAttribute, createVolumePermission).  Adding
 * a permission twice is one permission: nothing to look for first.
 */
#include "orch-internal.h"

static enum orch_step
share_run (struct orch *o, struct vm_run *r)
{
  struct v2v_error err = { 0 };

  if (!o->p->cross_account)
    return STEP_DONE;
  for (size_t i = 0; i < r->vm.nr_disks; i++)
    if (ec2_share_snapshot (o->o->source, r->vm.disks[i].snapshot,
                            o->p->target_creds.account_id, &err) < 0) {
      orch_fail_err (r, &err);
      return STEP_FAIL;
    }
  orch_crash_point ("share");
  return STEP_DONE;
}

const struct orch_phase orch_phase_share = {
  .name = "share",
  .run = share_run,
};
