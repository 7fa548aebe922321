/* cleanup: what a migration leaves behind once it has succeeded: the
 * snapshots (a failed delete is named, and `cleanup` finishes it), and
 * the conversion Job if deleteGuestConversionPod.
 */
#include "log.h"
#include "orch-internal.h"

static enum orch_step
cleanup_run (struct orch *o, struct vm_run *r)
{
  orch_delete_extra_snapshots (o, r);
  if (orch_delete_snapshots (o, r) > 0)
    log_warn ("%s: run `v2v-orchestrator cleanup` to delete the snapshots "
              "left", r->vm.id);
  orch_crash_point ("cleanup");
  if (o->p->delete_guest_conversion_pod)
    orch_phase_convert.undo (o, r);
  return STEP_DONE;
}

const struct orch_phase orch_phase_cleanup = {
  .name = "cleanup",
  .run = cleanup_run,
};
