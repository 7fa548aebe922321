/* snapshot: one crash-consistent, multi-volume CreateSnapshots, tagged
 * as it is made so that no crash can leave an untagged snapshot; wait
 * for `completed`.  CreateSnapshots takes no ClientToken: when its
 * answer is lost, what it may have made is looked for (by the plan's
 * tag) before it is sent again, and a second set found for the VM is
 * deleted.  Undo (and `cleanup`): delete the snapshots.
 *
 * The presnapshot phase (phase-presnapshot.c) takes its snapshots the
 * same way, while the instance runs: orch_snapshot_step.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "orch-internal.h"
#include "timeutil.h"

#define SNAPSHOT_TRIES 3

static int
create (struct orch *o, struct vm_run *r, size_t missing, bool pre)
{
  struct orch_vm *vm = &r->vm;
  struct v2v_error err = { 0 };
  const char *exclude[ORCH_MAX_DISKS + 1];
  const char *tags[] = { ORCH_TAG_PLAN, o->p->name, ORCH_TAG_VM, vm->id,
                         pre ? ORCH_TAG_PHASE : NULL, "pre", NULL };
  struct ec2_snapshots_spec spec = {
    .instance_id = vm->id, .exclude_volumes = exclude, .tags = tags,
    .description = pre ? "v2v-kubevirt migration (pre-copy)"
                       : "v2v-kubevirt migration",
  };
  struct ec2_snapshot *made = NULL;
  size_t n = 0, ex = 0;
  int rc;

  /* Leave out the disks that have one already. */
  for (size_t i = 0; i < vm->nr_disks; i++) {
    if ((pre ? vm->disks[i].pre_snapshot : vm->disks[i].snapshot)[0] == '\0')
      continue;
    if (vm->disks[i].root)
      spec.exclude_boot = true;
    else
      exclude[ex++] = vm->disks[i].src_volume;
  }
  exclude[ex] = NULL;
  ++*(pre ? &r->pre_tries : &r->snapshot_tries);
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
  *(pre ? &r->pre_sent : &r->snapshots_sent) = true;
  log_info ("%s: snapshotting %zu volume(s)%s", vm->id, missing,
            pre ? " while it runs (pre-copy)" : "");
  orch_crash_point (pre ? "presnapshot" : "snapshot");
  return 0;
}

/* The VM's progress while it waits on snapshots: the least advanced
 * snapshot's Progress, and an ETA from the rate so far.
 */
static void
progress (struct orch *o, struct vm_run *r, bool pre)
{
  int least = 100;
  double spent = now_s () - r->phase_start;

  for (size_t i = 0; i < r->vm.nr_disks; i++) {
    const struct orch_disk *d = &r->vm.disks[i];
    int p = pre ? d->pre_progress : d->snapshot_progress;
    if (p < least)
      least = p < 0 ? 0 : p;
  }
  r->eta_s = least > 0 && least < 100 ? spent * (100 - least) / least : -1;
  if (least == r->progress)
    return;
  r->progress = least;
  if (least > 0)
    log_info ("%s: %ssnapshots %d%%%s", r->vm.id, pre ? "pre-copy " : "",
              least, r->eta_s >= 0 ? "" : " (no ETA yet)");
  orch_record (o, r, "Running");
}

enum orch_step
orch_snapshot_step (struct orch *o, struct vm_run *r, bool pre)
{
  struct orch_vm *vm = &r->vm;
  size_t done = 0, missing = 0;

  orch_delete_extra_snapshots (o, r);
  for (size_t i = 0; i < vm->nr_disks; i++) {
    const struct orch_disk *d = &vm->disks[i];
    const char *id = pre ? d->pre_snapshot : d->snapshot;
    const char *state = pre ? d->pre_state : d->snapshot_state;
    if (strcmp (state, "error") == 0) {
      orch_fail (r, "snapshot %s of %s failed", id, d->src_volume);
      return STEP_FAIL;
    }
    done += strcmp (state, "completed") == 0;
    missing += id[0] == '\0';
  }
  if (done == vm->nr_disks) {
    r->progress = -1;
    r->eta_s = -1;
    return STEP_DONE;
  }
  if (missing && !(pre ? r->pre_sent : r->snapshots_sent)) {
    if ((pre ? r->pre_tries : r->snapshot_tries) == SNAPSHOT_TRIES) {
      orch_fail (r, "CreateSnapshots: no snapshot of %s appeared after %d "
                 "attempts", vm->id, SNAPSHOT_TRIES);
      return STEP_FAIL;
    }
    if (create (o, r, missing, pre) < 0)
      return STEP_FAIL;
  }
  progress (o, r, pre);
  return STEP_WAIT;
}

static enum orch_step
snapshot_run (struct orch *o, struct vm_run *r)
{
  return orch_snapshot_step (o, r, false);
}

unsigned
orch_snapshot_undo (struct orch *o, struct vm_run *r)
{
  orch_delete_extra_snapshots (o, r);
  return orch_delete_snapshots (o, r);
}

const struct orch_phase orch_phase_snapshot = {
  .name = "snapshot",
  .run = snapshot_run,
  .poll = POLL_SNAPSHOTS,
  .undo = orch_snapshot_undo,
  .flags = ORCH_PHASE_LEFTOVER,
};
