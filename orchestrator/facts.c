/* What EC2 knows about the plan's VMs, asked in batches: one
 * DescribeInstances, DescribeVolumes and DescribeInstanceTypes for the
 * whole plan, then each round one Describe call of each kind some VM
 * waits on (filtered by the plan's tag), never one per disk.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "log.h"
#include "orch-internal.h"
#include "strv.h"

static struct vm_run *
find_run (struct orch *o, const char *id)
{
  for (size_t i = 0; i < o->nr_runs; i++)
    if (strcmp (o->runs[i].vm.id, id) == 0)
      return &o->runs[i];
  return NULL;
}

static struct orch_disk *
find_disk (struct orch *o, const char *src_volume, struct vm_run **ret_run)
{
  for (size_t i = 0; i < o->nr_runs; i++)
    for (size_t j = 0; j < o->runs[i].vm.nr_disks; j++)
      if (strcmp (o->runs[i].vm.disks[j].src_volume, src_volume) == 0) {
        if (ret_run)
          *ret_run = &o->runs[i];
        return &o->runs[i].vm.disks[j];
      }
  return NULL;
}

static int
cmp_disk (const void *a, const void *b)
{
  const struct orch_disk *x = a, *y = b;

  if (x->root != y->root)
    return x->root ? -1 : 1;
  return strcmp (x->device, y->device);
}

static int
cmp_nic (const void *a, const void *b)
{
  const struct orch_nic *x = a, *y = b;

  return x->device_index - y->device_index;
}

/* A described instance: a new run, or the refresh of one. */
static int
add_instance (struct orch *o, const struct ec2_instance *in)
{
  struct vm_run *r = find_run (o, in->id);

  if (r == NULL) {
    struct vm_run *n = realloc (o->runs, (o->nr_runs + 1) * sizeof *n);
    if (n == NULL)
      return -ENOMEM;
    o->runs = n;
    r = &o->runs[o->nr_runs++];
    memset (r, 0, sizeof *r);
    snprintf (r->vm.id, sizeof r->vm.id, "%s", in->id);
  }
  struct orch_vm *vm = &r->vm;
  snprintf (vm->state, sizeof vm->state, "%s", in->state);
  if (r->described)             /* a refresh: the state is what changed */
    return 0;
  r->described = true;
  snprintf (vm->type, sizeof vm->type, "%s", in->type);
  snprintf (vm->az, sizeof vm->az, "%s", in->az);
  snprintf (vm->boot_mode, sizeof vm->boot_mode, "%s", in->boot_mode);
  snprintf (vm->root_device, sizeof vm->root_device, "%s", in->root_device);
  snprintf (vm->image_id, sizeof vm->image_id, "%s", in->image_id);
  vm->cores = in->core_count;
  vm->threads = in->threads_per_core;
  for (size_t i = 0; in->tags && in->tags[i]; i++)
    if (strv_add (&vm->tags, in->tags[i]) < 0)
      return -ENOMEM;
  for (size_t i = 0; in->security_groups && in->security_groups[i]; i++)
    if (strv_add (&vm->security_groups, in->security_groups[i]) < 0)
      return -ENOMEM;
  /* Counted, never cut: validate refuses more than a VM takes. */
  vm->nr_ebs_listed = in->nr_disks;
  vm->nr_enis_listed = in->nr_enis;
  for (size_t i = 0; i < in->nr_disks && i < ORCH_MAX_DISKS; i++) {
    struct orch_disk *d = &vm->disks[vm->nr_disks++];
    snprintf (d->device, sizeof d->device, "%s", in->disks[i].device);
    snprintf (d->src_volume, sizeof d->src_volume, "%s",
              in->disks[i].volume_id);
    d->root = strcmp (d->device, vm->root_device) == 0;
  }
  for (size_t i = 0; i < in->nr_enis && i < ORCH_MAX_NICS; i++) {
    struct orch_nic *n = &vm->nics[vm->nr_nics++];
    snprintf (n->mac, sizeof n->mac, "%s", in->enis[i].mac);
    snprintf (n->subnet, sizeof n->subnet, "%s", in->enis[i].subnet);
    n->device_index = in->enis[i].device_index;
  }
  qsort (vm->disks, vm->nr_disks, sizeof vm->disks[0], cmp_disk);
  /* EC2 lists ENIs in no particular order; the guest knew them by
   * device index.
   */
  qsort (vm->nics, vm->nr_nics, sizeof vm->nics[0], cmp_nic);
  return 0;
}

static int
add_instances (struct orch *o, const char *const *ids,
               const struct ec2_filter *f, size_t nf, struct v2v_error *err)
{
  struct ec2_instance *v = NULL;
  size_t n = 0;
  int r = ec2_describe_instances (o->o->source, ids, f, nf, &v, &n, err);

  for (size_t i = 0; r == 0 && i < n; i++)
    if (add_instance (o, &v[i]) < 0)
      r = v2v_error_set (err, -ENOMEM, "out of memory");
  ec2_instances_free (v, n);
  return r;
}

/* The source volume's details, and its own tags to copy (less EC2's
 * reserved aws: keys, which cannot be set, and ours, set from the plan).
 */
static int
add_source_volume (struct orch *o, const struct ec2_volume *v)
{
  struct orch_disk *d = find_disk (o, v->id, NULL);

  if (d == NULL)
    return 0;
  d->size_gib = v->size_gib;
  snprintf (d->type, sizeof d->type, "%s", v->type);
  d->iops = v->iops;
  d->throughput = v->throughput;
  d->encrypted = v->encrypted;
  snprintf (d->kms_key, sizeof d->kms_key, "%s", v->kms_key);
  for (size_t i = 0; v->tags && v->tags[i] && v->tags[i + 1]; i += 2) {
    if (strncmp (v->tags[i], "aws:", 4) == 0 ||
        strncmp (v->tags[i], "v2v-kubevirt/", 13) == 0)
      continue;
    if (strv_add (&d->src_tags, v->tags[i]) < 0 ||
        strv_add (&d->src_tags, v->tags[i + 1]) < 0)
      return -ENOMEM;
  }
  return 0;
}

/* -EINVAL from orch_migrate is a plan problem (exit 3); an EC2 error
 * that EC2 calls invalid is not one of those.
 */
static int
not_plan (int r, struct v2v_error *err)
{
  if (r == -EINVAL)
    r = err->code = -EIO;
  return r;
}

/* Which device name the instance's AMI gave each instance-store volume
 * (VirtualName ephemeralN), so that the agent can find the guest's fstab
 * entry for it.  Asked only when some VM has instance store, one call for
 * all; an AMI deregistered since leaves the names unknown (the agent then
 * keeps such entries with nofail, as for any name it cannot place).
 */
static int
scratch_devices (struct orch *o, struct v2v_error *err)
{
  CLEANUP_STRV char **ids = NULL;
  struct ec2_image *im = NULL;
  size_t n = 0;
  int r;

  for (size_t i = 0; i < o->nr_runs; i++) {
    const struct orch_vm *vm = &o->runs[i].vm;
    if (vm->nr_scratch && vm->image_id[0] &&
        strv_add_unique (&ids, vm->image_id) < 0)
      return v2v_error_set (err, -ENOMEM, "out of memory");
  }
  if (ids == NULL)
    return 0;
  r = ec2_describe_images (o->o->source, (const char *const *) ids, &im, &n,
                           err);
  if (r < 0)
    return not_plan (r, err);
  for (size_t i = 0; i < o->nr_runs; i++) {
    struct orch_vm *vm = &o->runs[i].vm;
    for (size_t j = 0; j < n; j++) {
      if (strcmp (im[j].id, vm->image_id) != 0)
        continue;
      for (size_t k = 0; k < im[j].nr_ephemeral; k++) {
        size_t e = (size_t) im[j].ephemeral[k].ephemeral;
        if (e < vm->nr_scratch)
          snprintf (vm->scratch[e].device, sizeof vm->scratch[e].device,
                    "%s", im[j].ephemeral[k].device);
      }
    }
  }
  free (im);
  return 0;
}

const char *const orch_migratable_states[] = { "pending", "running",
                                               "stopping", "stopped", NULL };

int
orch_facts_load (struct orch *o, struct v2v_error *err)
{
  struct plan *p = o->p;
  CLEANUP_STRV char **ids = NULL, **vols = NULL, **types = NULL;
  CLEANUP_STRV char **tag_filters = NULL;
  struct ec2_filter f[1 + 32];
  const char *values[1 + 32][2];
  size_t nf = 0;
  int r;

  for (size_t i = 0; i < p->nr_vms; i++)
    if (strv_add (&ids, p->vms[i].id) < 0)
      return v2v_error_set (err, -ENOMEM, "out of memory");
  /* Terminated instances stay listed for an hour: select only those
   * that can be migrated.
   */
  if (p->selector_tags && p->selector_tags[0]) {
    f[nf++] = (struct ec2_filter) { "instance-state-name",
                                    orch_migratable_states };
    for (size_t i = 0; p->selector_tags[i] && nf < 1 + 32; i += 2) {
      char *name;
      if (asprintf (&name, "tag:%s", p->selector_tags[i]) < 0)
        return v2v_error_set (err, -ENOMEM, "out of memory");
      /* The array owns NAME from here; the string does not move. */
      if (strv_push (&tag_filters, name) < 0)
        return v2v_error_set (err, -ENOMEM, "out of memory");
      values[nf][0] = p->selector_tags[i + 1];
      values[nf][1] = NULL;
      f[nf].name = name;
      f[nf].values = values[nf];
      nf++;
    }
  }
  r = add_instances (o, (const char *const *) ids, f, nf, err);
  if (r < 0)
    return not_plan (r, err);

  for (size_t i = 0; i < p->nr_vms; i++) {
    struct vm_run *run = find_run (o, p->vms[i].id);
    if (run == NULL)
      return v2v_error_set (err, -ENOENT, "instance %s: not found in %s "
                            "(check the region and the source credentials)",
                            p->vms[i].id, p->region);
    /* A plan problem, found before anything changes. */
    if (strcmp (run->vm.state, "terminated") == 0 ||
        strcmp (run->vm.state, "shutting-down") == 0)
      return v2v_error_set (err, -EINVAL, "plan: instance %s is %s: it "
                            "cannot be migrated; remove it from vms",
                            run->vm.id, run->vm.state);
  }
  if (o->nr_runs == 0)
    return v2v_error_set (err, -ENOENT, "vmSelector matches no instance in "
                          "%s", p->region);

  /* Names, plan links, and the source volumes' details. */
  for (size_t i = 0; i < o->nr_runs; i++) {
    struct orch_vm *vm = &o->runs[i].vm;
    const char *nn = NULL;
    for (size_t j = 0; j < p->nr_vms; j++)
      if (strcmp (p->vms[j].id, vm->id) == 0) {
        vm->pv = &p->vms[j];
        nn = p->vms[j].new_name;
      }
    snprintf (vm->name, sizeof vm->name, "%s", nn ? nn : vm->id);
    snprintf (vm->job, sizeof vm->job, "v2v-%s-%s", p->name, vm->id);
    for (size_t j = 0; j < vm->nr_disks; j++) {
      struct orch_disk *d = &vm->disks[j];
      snprintf (d->pvc, sizeof d->pvc, "%s-disk%zu", vm->name, j);
      snprintf (d->pv, sizeof d->pv, "v2v-%s-%s", p->name, d->src_volume);
      if (strv_add (&vols, d->src_volume) < 0)
        return v2v_error_set (err, -ENOMEM, "out of memory");
    }
    if (vm->type[0] && strv_add_unique (&types, vm->type) < 0)
      return v2v_error_set (err, -ENOMEM, "out of memory");
  }
  if (vols) {
    struct ec2_volume *v = NULL;
    size_t n = 0;
    r = ec2_describe_volumes (o->o->source, (const char *const *) vols, NULL,
                              0, &v, &n, err);
    for (size_t i = 0; r == 0 && i < n; i++)
      if (add_source_volume (o, &v[i]) < 0)
        r = v2v_error_set (err, -ENOMEM, "out of memory");
    ec2_volumes_free (v, n);
    if (r < 0)
      return not_plan (r, err);
  }

  /* Instance types: each once. */
  if (types) {
    struct ec2_instance_type *t = NULL;
    size_t n = 0;
    r = ec2_describe_instance_types (o->o->source,
                                     (const char *const *) types, NULL, 0,
                                     &t, &n, err);
    if (r < 0)
      return not_plan (r, err);
    for (size_t i = 0; i < o->nr_runs; i++)
      for (size_t j = 0; j < n; j++) {
        struct orch_vm *vm = &o->runs[i].vm;
        if (strcmp (vm->type, t[j].name) != 0)
          continue;
        vm->vcpus = t[j].vcpus;
        vm->memory_mib = t[j].memory_mib;
        /* CpuOptions say how the instance was launched; without them,
         * the type's defaults.
         */
        if (vm->cores <= 0 || vm->threads <= 0) {
          vm->cores = t[j].default_cores;
          vm->threads = t[j].default_threads_per_core;
        }
        if (t[j].instance_store_gb > 0)
          snprintf (vm->instance_store, sizeof vm->instance_store,
                    "%lld GB of instance store (its data is not migrated: "
                    "the VM gets empty scratch disks of its size)",
                    (long long) t[j].instance_store_gb);
        vm->nr_scratch = 0;
        for (size_t k = 0; k < t[j].nr_store_disks &&
                           k < ORCH_MAX_SCRATCH; k++)
          vm->scratch[vm->nr_scratch++].size_gb = t[j].store_disk_gb[k];
      }
    free (t);
  }
  return scratch_devices (o, err);
}

/* --- Batched polls ----------------------------------------------------- */

static void
extra_snapshot (struct vm_run *r, const char *id)
{
  for (size_t i = 0; i < r->nr_extra_snaps; i++)
    if (strcmp (r->extra_snaps[i], id) == 0)
      return;
  if (r->nr_extra_snaps < ORCH_MAX_DISKS)
    snprintf (r->extra_snaps[r->nr_extra_snaps++], sizeof r->extra_snaps[0],
              "%s", id);
}

/* One of the plan's snapshots, a pre-copy one (tagged phase=pre) or a
 * final one.  There may be two sets of a kind for a VM (a
 * CreateSnapshots sent again by an older run after its answer was lost,
 * two runs at once): the earliest good one is kept, the others are to
 * be deleted; a failed one is never kept over a good one.
 */
static void
saw_snapshot (struct orch *o, const struct ec2_snapshot *s)
{
  struct vm_run *r;
  struct orch_disk *d = find_disk (o, s->volume_id, &r);
  const char *kind = ec2_tag (s->tags, ORCH_TAG_PHASE);
  bool pre = kind && strcmp (kind, "pre") == 0;
  char *id, *state, *start;
  int *progress;

  if (d == NULL)
    return;
  id = pre ? d->pre_snapshot : d->snapshot;
  state = pre ? d->pre_state : d->snapshot_state;
  start = pre ? d->pre_start : d->snapshot_start;
  progress = pre ? &d->pre_progress : &d->snapshot_progress;
  if (id[0] && strcmp (id, s->id) != 0) {
    bool failed = strcmp (s->state, "error") == 0;
    bool have_failed = strcmp (state, "error") == 0;
    int c = strcmp (s->start_time, start);
    bool earlier = c < 0 || (c == 0 && strcmp (s->id, id) < 0);
    if (failed || (!have_failed && !earlier)) {
      extra_snapshot (r, s->id);
      return;
    }
    extra_snapshot (r, id);
  }
  /* The sizes are those of struct orch_disk's fields. */
  snprintf (id, sizeof d->snapshot, "%s", s->id);
  snprintf (state, sizeof d->snapshot_state, "%s", s->state);
  snprintf (start, sizeof d->snapshot_start, "%s", s->start_time);
  *progress = strcmp (s->state, "completed") == 0 ? 100 : s->progress;
}

/* One of the plan's volumes: ours are tagged with the volume they copy. */
static void
saw_volume (struct orch *o, const struct ec2_volume *v)
{
  const char *src = ec2_tag (v->tags, ORCH_TAG_VOLUME);
  struct orch_disk *d = src ? find_disk (o, src, NULL) : NULL;

  if (d == NULL || strcmp (v->state, "deleting") == 0 ||
      strcmp (v->state, "deleted") == 0)
    return;
  snprintf (d->volume, sizeof d->volume, "%s", v->id);
  snprintf (d->volume_state, sizeof d->volume_state, "%s", v->state);
}

void
orch_saw_snapshots (struct orch *o, const struct ec2_snapshot *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    saw_snapshot (o, &v[i]);
}

int
orch_poll_round (struct orch *o, struct v2v_error *err)
{
  bool want[NR_POLLS] = { false };
  const char *plan[] = { o->p->name, NULL };
  const struct ec2_filter by_plan = { "tag:" ORCH_TAG_PLAN, plan };
  int r = 0;

  for (size_t i = 0; i < o->nr_runs; i++)
    if (o->runs[i].st == RUN_ACTIVE)
      want[o->runs[i].waiting] = true;

  if (want[POLL_INSTANCES]) {
    CLEANUP_STRV char **ids = NULL;
    for (size_t i = 0; i < o->nr_runs; i++)
      if (o->runs[i].st == RUN_ACTIVE &&
          o->runs[i].waiting == POLL_INSTANCES &&
          strv_add (&ids, o->runs[i].vm.id) < 0)
        return v2v_error_set (err, -ENOMEM, "out of memory");
    if ((r = add_instances (o, (const char *const *) ids, NULL, 0, err)) < 0)
      return r;
  }
  if (want[POLL_SNAPSHOTS]) {
    struct ec2_snapshot *v = NULL;
    size_t n = 0;
    if ((r = ec2_describe_snapshots (o->o->source, &by_plan, 1, &v, &n,
                                     err)) < 0)
      return r;
    orch_saw_snapshots (o, v, n);
    ec2_snapshots_free (v, n);
  }
  if (want[POLL_VOLUMES]) {
    struct ec2_volume *v = NULL;
    size_t n = 0;
    if ((r = ec2_describe_volumes (o->o->target, NULL, &by_plan, 1, &v, &n,
                                   err)) < 0)
      return r;
    for (size_t i = 0; i < n; i++)
      saw_volume (o, &v[i]);
    ec2_volumes_free (v, n);
  }
  return 0;
}

void
orch_look (struct orch *o, struct vm_run *r, unsigned looks)
{
  struct v2v_error err = { 0 };
  enum orch_poll saved = r->waiting;
  enum run_state st = r->st;

  r->st = RUN_ACTIVE;
  for (int k = 0; k < NR_POLLS; k++)
    if (looks & POLL_BIT (k)) {
      r->waiting = k;
      if (orch_poll_round (o, &err) < 0)
        log_warn ("%s: looking at what was made: %s", r->vm.id, err.msg);
    }
  r->waiting = saved;
  r->st = st;
}

static int
delete_snapshot (struct orch *o, struct vm_run *r, const char *id)
{
  struct v2v_error err = { 0 };
  int rc = ec2_delete_snapshot (o->o->source, id, &err);

  if (rc < 0 && rc != -ENOENT) {
    log_error ("%s: could not delete snapshot %s: %s", r->vm.id, id, err.msg);
    return -1;
  }
  return 0;
}

unsigned
orch_delete_snapshots (struct orch *o, struct vm_run *r)
{
  unsigned failed = 0;

  for (size_t i = 0; i < r->vm.nr_disks; i++) {
    struct orch_disk *d = &r->vm.disks[i];
    if (d->snapshot[0]) {
      failed += delete_snapshot (o, r, d->snapshot) < 0;
      d->snapshot[0] = '\0';
    }
    if (d->pre_snapshot[0]) {
      failed += delete_snapshot (o, r, d->pre_snapshot) < 0;
      d->pre_snapshot[0] = '\0';
    }
  }
  return failed;
}

void
orch_delete_extra_snapshots (struct orch *o, struct vm_run *r)
{
  for (size_t i = 0; i < r->nr_extra_snaps; i++) {
    log_warn ("%s: deleting snapshot %s, of a second snapshot set",
              r->vm.id, r->extra_snaps[i]);
    delete_snapshot (o, r, r->extra_snaps[i]);
  }
  r->nr_extra_snaps = 0;
}
