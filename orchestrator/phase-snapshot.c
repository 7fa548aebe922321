/* snapshot: one crash-consistent, multi-volume CreateSnapshots, tagged
 * as it is made so that no crash can leave an untagged snapshot; wait
 * for `completed`.  CreateSnapshots takes no ClientToken: when its
 * answer is lost, what it may have made is looked for (by the plan's
 * tag) before it is sent again, and a second set found for the VM is
 * deleted.  Undo (and `cleanup`): delete the snapshots.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "orch-internal.h"

#define SNAPSHOT_TRIES 3

static int
create (struct orch *o, struct vm_run *r, size_t missing)
{
  struct orch_vm *vm = &r->vm;
  struct v2v_error err = { 0 };
  const char *exclude[ORCH_MAX_DISKS + 1];
  const char *tags[] = { ORCH_TAG_PLAN, o->p->name, ORCH_TAG_VM, vm->id,
                         NULL };
  struct ec2_snapshots_spec spec = {
    .instance_id = vm->id, .exclude_volumes = exclude, .tags = tags,
    .description = "v2v-kubevirt migration",
  };
  struct ec2_snapshot *made = NULL;
  size_t n = 0, ex = 0;
  int rc;

  /* Leave out the disks that have one already. */
  for (size_t i = 0; i < vm->nr_disks; i++) {
    if (vm->disks[i].snapshot[0] == '\0')
      continue;
    if (vm->disks[i].root)
      spec.exclude_boot = true;
    else
      exclude[ex++] = vm->disks[i].src_volume;
  }
  exclude[ex] = NULL;
  r->snapshot_tries++;
  rc = ec2_create_snapshots (o->o->source, &spec, &made, &n, &err);
  if (rc == -EINPROGRESS) {
    log_warn ("%s: %s; looking for the snapshots it may have made",
              vm->id, err.msg);
    return 0;
  }
  if (rc < 0) {
    orch_fail_err (r, &err);
    return rc;
  }
  orch_saw_snapshots (o, made, n);
  ec2_snapshots_free (made, n);
  r->snapshots_sent = true;
  log_info ("%s: snapshotting %zu volume(s)", vm->id, missing);
  orch_crash_point ("snapshot");
  return 0;
}

static enum orch_step
snapshot_run (struct orch *o, struct vm_run *r)
{
  struct orch_vm *vm = &r->vm;
  size_t done = 0, missing = 0;

  orch_delete_extra_snapshots (o, r);
  for (size_t i = 0; i < vm->nr_disks; i++) {
    const struct orch_disk *d = &vm->disks[i];
    if (strcmp (d->snapshot_state, "error") == 0) {
      orch_fail (r, "snapshot %s of %s failed", d->snapshot, d->src_volume);
      return STEP_FAIL;
    }
    done += strcmp (d->snapshot_state, "completed") == 0;
    missing += d->snapshot[0] == '\0';
  }
  if (done == vm->nr_disks)
    return STEP_DONE;
  if (missing && !r->snapshots_sent) {
    if (r->snapshot_tries == SNAPSHOT_TRIES) {
      orch_fail (r, "CreateSnapshots: no snapshot of %s appeared after %d "
                 "attempts", vm->id, SNAPSHOT_TRIES);
      return STEP_FAIL;
    }
    if (create (o, r, missing) < 0)
      return STEP_FAIL;
  }
  return STEP_WAIT;
}

static unsigned
snapshot_undo (struct orch *o, struct vm_run *r)
{
  orch_delete_extra_snapshots (o, r);
  return orch_delete_snapshots (o, r);
}

const struct orch_phase orch_phase_snapshot = {
  .name = "snapshot",
  .run = snapshot_run,
  .poll = POLL_SNAPSHOTS,
  .undo = snapshot_undo,
  .flags = ORCH_PHASE_LEFTOVER,
};
