/* stop: record the instance's power state (the one fact no tag gives
 * back), then StopInstances and wait for `stopped`.  Undo: start it
 * again if it was running.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "orch-internal.h"

static enum orch_step
stop_run (struct orch *o, struct vm_run *r)
{
  struct orch_vm *vm = &r->vm;
  struct v2v_error err = { 0 };

  if (vm->prior_state[0] == '\0') {
    /* Before anything changes. */
    snprintf (vm->prior_state, sizeof vm->prior_state, "%s", vm->state);
    orch_record (o, r, "Running");
  }
  if (strcmp (vm->state, "stopped") == 0)
    return STEP_DONE;
  if (strcmp (vm->state, "terminated") == 0 ||
      strcmp (vm->state, "shutting-down") == 0) {
    orch_fail (r, "instance %s is %s", vm->id, vm->state);
    return STEP_FAIL;
  }
  /* EC2 refuses to stop a pending instance (IncorrectInstanceState), as
   * one is right after a failed run started it again: wait until it
   * runs, then stop it.
   */
  if (!r->stop_sent && strcmp (vm->state, "running") == 0) {
    if (ec2_stop_instance (o->o->source, vm->id, &err) < 0) {
      orch_fail_err (r, &err);
      return STEP_FAIL;
    }
    r->stop_sent = true;
    /* The downtime starts here (kept in the record for a resume). */
    if (r->stopped_at == 0)
      r->stopped_at = orch_wall_s ();
    log_info ("%s: stopping the instance", vm->id);
    orch_record (o, r, "Running");
    orch_crash_point ("stop");
  }
  return STEP_WAIT;
}

static unsigned
stop_undo (struct orch *o, struct vm_run *r)
{
  struct v2v_error err = { 0 };

  if (strcmp (r->vm.prior_state, "running") != 0)
    return 0;
  log_info ("%s: starting the source instance again", r->vm.id);
  if (ec2_start_instance (o->o->source, r->vm.id, &err) < 0) {
    log_error ("%s: could not restart the source instance: %s", r->vm.id,
               err.msg);
    return 1;
  }
  return 0;
}

const struct orch_phase orch_phase_stop = {
  .name = "stop",
  .run = stop_run,
  .poll = POLL_INSTANCES,
  .undo = stop_undo,
};
