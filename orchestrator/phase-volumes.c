/* volumes: CreateVolume in the target AZ (and account) from each
 * snapshot, with the source's type, IOPS, throughput and encryption,
 * tagged with the source volume's own tags and the migration's; wait
 * for `available`.  A ClientToken makes a repeat after a lost answer the
 * same volume.  Undo (unless --keep-on-failure): delete the volumes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "orch-internal.h"

/* EC2 takes 50 tags a resource; three are the migration's. */
#define MAX_TAGS 50

static int
create (struct orch *o, struct vm_run *r, struct orch_disk *d)
{
  struct orch_vm *vm = &r->vm;
  struct v2v_error err = { 0 };
  const char *tags[2 * MAX_TAGS + 1] = {
    ORCH_TAG_PLAN, o->p->name, ORCH_TAG_VM, vm->id,
    ORCH_TAG_VOLUME, d->src_volume,
  };
  size_t t = 6;
  char token[64];
  struct ec2_volume made;
  bool io = strncmp (d->type, "io", 2) == 0, gp3 = strcmp (d->type, "gp3") == 0;

  for (size_t j = 0; d->src_tags && d->src_tags[j]; j += 2) {
    if (t == 2 * MAX_TAGS) {
      log_warn ("%s: volume %s: tag %s not copied (EC2 takes %d tags, 3 "
                "are the migration's)", vm->id, d->src_volume,
                d->src_tags[j], MAX_TAGS);
      continue;
    }
    tags[t++] = d->src_tags[j];
    tags[t++] = d->src_tags[j + 1];
  }
  tags[t] = NULL;
  /* A retry after a lost answer must not make a second volume; the
   * token is this run's, as a later run finds the volume by its tags.
   */
  snprintf (token, sizeof token, "v2v-%.21s-%lld", d->src_volume,
            (long long) o->run_id);
  /* A copy that performs and is protected like the original. */
  const struct ec2_volume_spec spec = {
    .snapshot_id = d->snapshot, .az = o->p->target_az, .type = d->type,
    .size_gib = d->size_gib,
    .iops = io || gp3 ? d->iops : 0,
    .throughput = gp3 ? d->throughput : 0,
    .encrypted = d->encrypted, .kms_key = d->kms_key,
    .client_token = token, .tags = tags,
  };
  if (ec2_create_volume (o->o->target, &spec, &made, &err) < 0) {
    orch_fail_err (r, &err);
    return -1;
  }
  snprintf (d->volume, sizeof d->volume, "%s", made.id);
  snprintf (d->volume_state, sizeof d->volume_state, "%s", made.state);
  log_info ("%s: volume %s from %s in %s", vm->id, d->volume, d->snapshot,
            o->p->target_az);
  orch_crash_point ("volumes");
  return 0;
}

static enum orch_step
volumes_run (struct orch *o, struct vm_run *r)
{
  size_t ready = 0;

  for (size_t i = 0; i < r->vm.nr_disks; i++) {
    struct orch_disk *d = &r->vm.disks[i];
    if (strcmp (d->volume_state, "error") == 0) {
      orch_fail (r, "volume %s (from %s) failed", d->volume, d->snapshot);
      return STEP_FAIL;
    }
    if (d->volume[0] == '\0' && create (o, r, d) < 0)
      return STEP_FAIL;
    ready += strcmp (d->volume_state, "available") == 0;
  }
  return ready == r->vm.nr_disks ? STEP_DONE : STEP_WAIT;
}

static unsigned
volumes_undo (struct orch *o, struct vm_run *r)
{
  struct v2v_error err = { 0 };
  unsigned failed = 0;

  for (size_t i = 0; i < r->vm.nr_disks; i++) {
    struct orch_disk *d = &r->vm.disks[i];
    int rc;
    if (d->volume[0] == '\0')
      continue;
    rc = ec2_delete_volume (o->o->target, d->volume, &err);
    if (rc < 0 && rc != -ENOENT) {
      log_error ("%s: could not delete volume %s: %s", r->vm.id, d->volume,
                 err.msg);
      failed++;
    }
  }
  return failed;
}

const struct orch_phase orch_phase_volumes = {
  .name = "volumes",
  .run = volumes_run,
  .poll = POLL_VOLUMES,
  .undo = volumes_undo,
  .flags = ORCH_PHASE_TARGET,
};
