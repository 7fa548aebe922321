/* presnapshot (preSnapshot, default on): while the instance still runs,
 * snapshot its volumes (crash-consistent, tagged phase=pre) and wait
 * for them to complete; only then does the stop phase stop it.  EBS
 * makes the final snapshots incrementally from these, so the downtime
 * is the short delta, not a whole first copy.  Skipped when the plan
 * says preSnapshot false or the instance is not running (a stopped one
 * has no downtime to save).  Undo (and `cleanup`): delete the
 * snapshots, the pre-copy ones with the others.
 */
#include <string.h>

#include "orch-internal.h"

static enum orch_step
presnapshot_run (struct orch *o, struct vm_run *r)
{
  bool made = false;

  for (size_t i = 0; i < r->vm.nr_disks; i++)
    made |= r->vm.disks[i].pre_snapshot[0] != '\0';
  /* Once made (by this run or a crashed one), they are waited for. */
  if (!o->p->pre_snapshot ||
      (!made && strcmp (r->vm.state, "running") != 0))
    return STEP_DONE;
  return orch_snapshot_step (o, r, true);
}

const struct orch_phase orch_phase_presnapshot = {
  .name = "presnapshot",
  .run = presnapshot_run,
  .poll = POLL_SNAPSHOTS,
  .undo = orch_snapshot_undo,
  .flags = ORCH_PHASE_LEFTOVER,
};
