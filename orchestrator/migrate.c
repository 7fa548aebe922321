/* The migration pipeline; see migrate.h. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "migrate.h"
#include "orch.h"

enum step { STEP_DONE, STEP_WAIT, STEP_FAIL };

/* What a VM waits for; the round makes one batched call for each. */
enum poll { POLL_NONE, POLL_INSTANCES, POLL_SNAPSHOTS, POLL_VOLUMES,
            POLL_KUBE };

enum run_state { RUN_PENDING, RUN_ACTIVE, RUN_DONE, RUN_FAILED };

struct vm_run {
  struct orch_vm vm;
  enum run_state st;
  int phase;
  enum poll waiting;
  char error[1024];
  char note[160];               /* "VirtualMachine NS/NAME exists" */
  bool stop_sent, snapshots_sent, snapshots_seen, volumes_seen;
  bool job_created;
  int err_code;                 /* why it failed: -EACCES is exit 4 */
  int snapshot_tries;           /* CreateSnapshots sent, answer or not */
  char extra_snaps[ORCH_MAX_DISKS][32]; /* a second set, to delete */
  size_t nr_extra_snaps;
  int discover;                 /* resumed: polls still to make first */
  double phase_start, job_start;
};

struct orch {
  const struct orch_options *o;
  struct plan *p;
  struct vm_run *runs;
  size_t nr_runs;
  char configmap[128];
  bool have_configmap;
  struct json_object *records;  /* the ConfigMap's data, parsed */
  time_t run_id;                /* this run's start, for ClientTokens */
  bool zone_checked, zone_ok;   /* the target AZ's nodes, listed once */
  bool discovered;              /* every VM's snapshots and volumes are
                                   known: no failure needs to look again */
};

typedef enum step (*phase_fn) (struct orch *, struct vm_run *);

static enum step ph_validate (struct orch *, struct vm_run *);
static enum step ph_stop (struct orch *, struct vm_run *);
static enum step ph_snapshot (struct orch *, struct vm_run *);
static enum step ph_share (struct orch *, struct vm_run *);
static enum step ph_volumes (struct orch *, struct vm_run *);
static enum step ph_bind (struct orch *, struct vm_run *);
static enum step ph_convert (struct orch *, struct vm_run *);
static enum step ph_vm (struct orch *, struct vm_run *);
static enum step ph_cleanup (struct orch *, struct vm_run *);
static void delete_extra_snapshots (struct orch *, struct vm_run *);

/* The pipeline.  Each phase is idempotent: it looks for what it would
 * make before making it.
 */
static const struct {
  const char *name;
  phase_fn run;
} phases[] = {
  { "validate", ph_validate },
  { "stop", ph_stop },
  { "snapshot", ph_snapshot },
  { "share", ph_share },
  { "volumes", ph_volumes },
  { "bind", ph_bind },
  { "convert", ph_convert },
  { "vm", ph_vm },
  { "cleanup", ph_cleanup },
};
#define NR_PHASES (sizeof phases / sizeof phases[0])

static double
now_s (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* For the crash-and-resume tests: V2V_ORCH_CRASH_AFTER=PHASE kills the
 * process (SIGKILL, as kill -9 would) right after that phase's first
 * change to the world, the worst moment for a resume.
 */
static void
crash_point (const char *phase)
{
  const char *c = getenv ("V2V_ORCH_CRASH_AFTER");

  if (c && strcmp (c, phase) == 0) {
    log_warn ("V2V_ORCH_CRASH_AFTER=%s: killing myself", phase);
    raise (SIGKILL);
  }
}

static void __attribute__ ((format (printf, 2, 3)))
fail (struct vm_run *r, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (r->error, sizeof r->error, fmt, ap);
  va_end (ap);
}

/* A VM fails because of ERR, a call's error: keep its code, so that
 * refused credentials end the run with the credentials exit code.
 */
static void
fail_err (struct vm_run *r, const struct v2v_error *err)
{
  r->err_code = err->code;
  fail (r, "%s", err->msg);
}

/* Kubernetes refused our credentials: say which API server. */
static void
kube_whose (struct orch *o, struct v2v_error *err)
{
  if (err->code == -EACCES)
    v2v_error_prefix (err, "Kubernetes API %s",
                      kube_config_server (o->o->kube));
}

/* --- The plan's ConfigMap: one record per VM ------------------------ */

static void
record (struct orch *o, struct vm_run *r, const char *outcome)
{
  CLEANUP_JSON struct json_object *patch = json_object_new_object ();
  struct json_object *data = json_object_new_object ();
  struct json_object *rec = json_object_new_object ();
  struct v2v_error err = { 0 };
  char path[512];

  json_object_object_add (rec, "phase", json_object_new_string
                          (r->phase < (int) NR_PHASES
                           ? phases[r->phase].name : "done"));
  json_object_object_add (rec, "priorState",
                          json_object_new_string (r->vm.prior_state));
  json_object_object_add (rec, "outcome", json_object_new_string (outcome));
  if (r->error[0])
    json_object_object_add (rec, "error", json_object_new_string (r->error));
  if (r->note[0])
    json_object_object_add (rec, "note", json_object_new_string (r->note));
  json_object_object_add (data, r->vm.id, json_object_new_string
                          (json_object_to_json_string_ext
                           (rec, JSON_C_TO_STRING_PLAIN)));
  json_object_put (rec);
  json_object_object_add (patch, "data", data);
  snprintf (path, sizeof path, "/api/v1/namespaces/%s/configmaps/%s",
            o->p->target_namespace, o->configmap);
  if (kube_merge_patch (o->o->kube, path, patch, &err) < 0)
    log_warn ("%s: recording the state: %s", r->vm.id, err.msg);
}

static int
load_records (struct orch *o, struct v2v_error *err)
{
  CLEANUP_JSON struct json_object *cm = NULL;
  char path[512];
  int r;

  snprintf (o->configmap, sizeof o->configmap, "v2v-plan-%s", o->p->name);
  snprintf (path, sizeof path, "/api/v1/namespaces/%s/configmaps/%s",
            o->p->target_namespace, o->configmap);
  r = kube_get (o->o->kube, path, &cm, err);
  kube_whose (o, err);
  if (r == -ENOENT) {
    struct json_object *obj = json_object_new_object ();
    struct json_object *meta = json_object_new_object ();
    struct json_object *labels = json_object_new_object ();
    json_object_object_add (obj, "apiVersion", json_object_new_string ("v1"));
    json_object_object_add (obj, "kind", json_object_new_string ("ConfigMap"));
    json_object_object_add (meta, "name", json_object_new_string (o->configmap));
    json_object_object_add (meta, "namespace",
                            json_object_new_string (o->p->target_namespace));
    json_object_object_add (labels, ORCH_LABEL_PLAN,
                            json_object_new_string (o->p->name));
    json_object_object_add (meta, "labels", labels);
    json_object_object_add (obj, "metadata", meta);
    json_object_object_add (obj, "data", json_object_new_object ());
    snprintf (path, sizeof path, "/api/v1/namespaces/%s/configmaps",
              o->p->target_namespace);
    r = kube_create (o->o->kube, path, obj, NULL, err);
    json_object_put (obj);
    kube_whose (o, err);
    if (r == -EEXIST)
      r = 0;
    o->records = json_object_new_object ();
    return r;
  }
  if (r < 0)
    return r;
  struct json_object *data;
  o->records = json_object_object_get_ex (cm, "data", &data) && data
    ? json_object_get (data) : json_object_new_object ();
  return 0;
}

/* The record of VM ID from an earlier run, as an object, or NULL. */
static struct json_object *
old_record (struct orch *o, const char *id)
{
  struct json_object *v, *rec = NULL;

  if (o->records && json_object_object_get_ex (o->records, id, &v) &&
      json_object_is_type (v, json_type_string))
    json_parse (json_object_get_string (v), json_object_get_string_len (v),
                0, &rec, NULL);
  return rec;
}

/* The VirtualMachines migrations made in the target namespace (any
 * plan's): an instance that has one is migrated, whatever the records
 * say, since `cleanup` deletes those.  Sets *RET to the list's items.
 */
static int
list_migrated (struct orch *o, struct json_object **ret,
               struct v2v_error *err)
{
  struct json_object *items;
  char path[512];
  int r;

  snprintf (path, sizeof path, "/apis/kubevirt.io/v1/namespaces/%s/"
            "virtualmachines?labelSelector=v2v.kubevirt.io%%2Fvm",
            o->p->target_namespace);
  r = kube_get (o->o->kube, path, ret, err);
  kube_whose (o, err);
  if (r < 0)
    return r;
  if (!json_object_object_get_ex (*ret, "items", &items) ||
      !json_object_is_type (items, json_type_array)) {
    json_object_put (*ret);
    *ret = NULL;
    return v2v_error_set (err, -EPROTO, "listing VirtualMachines: no items");
  }
  return 0;
}

/* The name of the VirtualMachine in LIST made from instance ID, or NULL. */
static const char *
migrated_as (struct json_object *list, const char *id)
{
  struct json_object *items;

  if (list == NULL || !json_object_object_get_ex (list, "items", &items))
    return NULL;
  for (size_t i = 0; i < json_object_array_length (items); i++) {
    struct json_object *vm = json_object_array_get_idx (items, i);
    struct json_object *labels, *v;
    const char *name;
    if (json_get_object (vm, "metadata.labels", &labels, NULL) == 0 &&
        json_object_object_get_ex (labels, ORCH_LABEL_VM, &v) &&
        strcmp (json_object_get_string (v), id) == 0 &&
        json_get_string (vm, "metadata.name", &name, NULL) == 0)
      return name;
  }
  return NULL;
}

/* --- EC2 facts ------------------------------------------------------- */

static struct vm_run *
find_run (struct orch *o, const char *id)
{
  for (size_t i = 0; i < o->nr_runs; i++)
    if (strcmp (o->runs[i].vm.id, id) == 0)
      return &o->runs[i];
  return NULL;
}

static void
copy_text (xmlNodePtr n, const char *path, char *out, size_t len)
{
  CLEANUP_FREE char *t = ec2_xml_text (n, path);

  snprintf (out, len, "%s", t ? t : "");
}

static int
cmp_nic (const void *a, const void *b)
{
  const struct orch_nic *x = a, *y = b;

  return x->device_index - y->device_index;
}

static int
cmp_disk (const void *a, const void *b)
{
  const struct orch_disk *x = a, *y = b;

  if (x->root != y->root)
    return x->root ? -1 : 1;
  return strcmp (x->device, y->device);
}

/* One instance of DescribeInstances: create or refresh its run. */
static int
on_instance (xmlNodePtr item, void *opaque)
{
  struct orch *o = opaque;
  char id[32];
  struct vm_run *r;

  copy_text (item, "instanceId", id, sizeof id);
  if ((r = find_run (o, id)) == NULL) {
    struct vm_run *n = realloc (o->runs, (o->nr_runs + 1) * sizeof *n);
    if (n == NULL)
      return -ENOMEM;
    o->runs = n;
    r = &o->runs[o->nr_runs++];
    memset (r, 0, sizeof *r);
    snprintf (r->vm.id, sizeof r->vm.id, "%s", id);
  }
  struct orch_vm *vm = &r->vm;
  copy_text (item, "instanceState/name", vm->state, sizeof vm->state);
  if (vm->nr_disks > 0)         /* a refresh: the state is what changed */
    return 0;
  copy_text (item, "instanceType", vm->type, sizeof vm->type);
  copy_text (item, "placement/availabilityZone", vm->az, sizeof vm->az);
  copy_text (item, "bootMode", vm->boot_mode, sizeof vm->boot_mode);
  copy_text (item, "rootDeviceName", vm->root_device, sizeof vm->root_device);

  for (xmlNodePtr c = item->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE)
      continue;
    if (xmlStrcmp (c->name, BAD_CAST "blockDeviceMapping") == 0) {
      for (xmlNodePtr it = c->children; it; it = it->next) {
        char vol[32];
        if (it->type != XML_ELEMENT_NODE)
          continue;
        copy_text (it, "ebs/volumeId", vol, sizeof vol);
        if (vol[0] == '\0')
          continue;
        /* Counted, not dropped: validate refuses too many. */
        if (vm->nr_ebs_listed++ >= ORCH_MAX_DISKS)
          continue;
        struct orch_disk *d = &vm->disks[vm->nr_disks];
        copy_text (it, "deviceName", d->device, sizeof d->device);
        snprintf (d->src_volume, sizeof d->src_volume, "%s", vol);
        d->root = strcmp (d->device, vm->root_device) == 0;
        vm->nr_disks++;
      }
    }
    else if (xmlStrcmp (c->name, BAD_CAST "networkInterfaceSet") == 0) {
      for (xmlNodePtr it = c->children; it; it = it->next) {
        if (it->type != XML_ELEMENT_NODE ||
            vm->nr_enis_listed++ >= ORCH_MAX_NICS)
          continue;
        struct orch_nic *n = &vm->nics[vm->nr_nics++];
        char idx[16];
        copy_text (it, "macAddress", n->mac, sizeof n->mac);
        copy_text (it, "subnetId", n->subnet, sizeof n->subnet);
        copy_text (it, "attachment/deviceIndex", idx, sizeof idx);
        n->device_index = atoi (idx);
      }
    }
  }
  qsort (vm->disks, vm->nr_disks, sizeof vm->disks[0], cmp_disk);
  /* EC2 lists ENIs in no particular order; the guest saw them by
   * device index.
   */
  qsort (vm->nics, vm->nr_nics, sizeof vm->nics[0], cmp_nic);
  return 0;
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
on_source_volume (xmlNodePtr item, void *opaque)
{
  struct orch *o = opaque;
  char id[32], buf[64];
  struct orch_disk *d;

  copy_text (item, "volumeId", id, sizeof id);
  if ((d = find_disk (o, id, NULL)) == NULL)
    return 0;
  copy_text (item, "size", buf, sizeof buf);
  d->size_gib = atoll (buf);
  copy_text (item, "volumeType", d->type, sizeof d->type);
  copy_text (item, "iops", buf, sizeof buf);
  d->iops = atoll (buf);
  copy_text (item, "throughput", buf, sizeof buf);
  d->throughput = atoll (buf);
  copy_text (item, "encrypted", buf, sizeof buf);
  d->encrypted = strcmp (buf, "true") == 0;
  copy_text (item, "kmsKeyId", d->kms_key, sizeof d->kms_key);

  /* The volume's own tags go to its copy, less EC2's reserved aws:
   * keys (which cannot be set) and ours (set from the plan).
   */
  size_t n = 0;
  for (xmlNodePtr c = item->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE &&
        xmlStrcmp (c->name, BAD_CAST "tagSet") == 0)
      for (xmlNodePtr t = c->children; t; t = t->next) {
        CLEANUP_FREE char *key = NULL, *value = NULL;
        char **nt;
        if (t->type != XML_ELEMENT_NODE)
          continue;
        key = ec2_xml_text (t, "key");
        value = ec2_xml_text (t, "value");
        if (key == NULL || strncmp (key, "aws:", 4) == 0 ||
            strncmp (key, "v2v-kubevirt/", 13) == 0)
          continue;
        nt = realloc (d->src_tags, (n + 3) * sizeof *nt);
        if (nt == NULL)
          return -ENOMEM;
        d->src_tags = nt;
        nt[n++] = TAKE_PTR (key);
        nt[n++] = value ? TAKE_PTR (value) : strdup ("");
        nt[n] = NULL;
      }
  return 0;
}

static int
on_instance_type (xmlNodePtr item, void *opaque)
{
  struct orch *o = opaque;
  char type[32], buf[64], store[64];

  copy_text (item, "instanceType", type, sizeof type);
  for (size_t i = 0; i < o->nr_runs; i++) {
    struct orch_vm *vm = &o->runs[i].vm;
    if (strcmp (vm->type, type) != 0)
      continue;
    copy_text (item, "vCpuInfo/defaultVCpus", buf, sizeof buf);
    vm->vcpus = atoi (buf);
    copy_text (item, "memoryInfo/sizeInMiB", buf, sizeof buf);
    vm->memory_mib = atoll (buf);
    copy_text (item, "instanceStorageInfo/totalSizeInGB", store, sizeof store);
    if (store[0] && strcmp (store, "0") != 0)
      snprintf (vm->instance_store, sizeof vm->instance_store,
                "%s GB of instance store (not migrated: it is not EBS)",
                store);
  }
  return 0;
}

/* -EINVAL from orch_migrate means a plan problem (exit 3); an EC2
 * error EC2 calls invalid is not one of those.
 */
static int
ec2_not_plan (int r, struct v2v_error *err)
{
  if (r == -EINVAL)
    r = err->code = -EIO;
  return r;
}

/* Everything EC2 knows about the plan's VMs, in as few calls as it
 * takes: one DescribeInstances, one DescribeVolumes, one
 * DescribeInstanceTypes for all of them (each paged).
 */
static int
describe_plan (struct orch *o, struct v2v_error *err)
{
  struct plan *p = o->p;
  char **params = calloc (4 * (p->nr_vms + 8) + 4 * 64, sizeof (char *));
  char names[64][32], vals[64][256];
  size_t n = 0, k = 0;
  int r;

  if (params == NULL)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  for (size_t i = 0; i < p->nr_vms; i++) {
    char *name;
    if (asprintf (&name, "InstanceId.%zu", i + 1) < 0) {
      for (size_t j = 0; j < n; j++)
        free (params[j]);
      free (params);
      return v2v_error_set (err, -ENOMEM, "out of memory");
    }
    params[n++] = name;
    params[n++] = strdup (p->vms[i].id);
  }
  /* Terminated instances stay listed for an hour: select only those
   * that can be migrated.
   */
  if (p->selector_tags && p->selector_tags[0]) {
    static const char *const states[] = { "pending", "running", "stopping",
                                          "stopped" };
    snprintf (names[k], sizeof names[k], "Filter.%zu.Name", k + 1);
    params[n++] = strdup (names[k]);
    params[n++] = strdup ("instance-state-name");
    for (size_t j = 0; j < 4; j++) {
      snprintf (vals[k], sizeof vals[k], "Filter.%zu.Value.%zu", k + 1, j + 1);
      params[n++] = strdup (vals[k]);
      params[n++] = strdup (states[j]);
    }
    k++;
  }
  for (size_t i = 0; p->selector_tags && p->selector_tags[i] && k < 60;
       i += 2, k++) {
    snprintf (names[k], sizeof names[k], "Filter.%zu.Name", k + 1);
    snprintf (vals[k], sizeof vals[k], "tag:%s", p->selector_tags[i]);
    params[n++] = strdup (names[k]);
    params[n++] = strdup (vals[k]);
    snprintf (names[k], sizeof names[k], "Filter.%zu.Value.1", k + 1);
    params[n++] = strdup (names[k]);
    params[n++] = strdup (p->selector_tags[i + 1]);
  }
  r = ec2_describe (o->o->source, "DescribeInstances",
                    (const char *const *) params,
                    "//*[local-name()='instancesSet']/*[local-name()='item']",
                    on_instance, o, err);
  for (size_t i = 0; i < n; i++)
    free (params[i]);
  free (params);
  if (r < 0)
    return ec2_not_plan (r, err);

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
  size_t nvol = 0;
  for (size_t i = 0; i < o->nr_runs; i++)
    nvol += o->runs[i].vm.nr_disks;
  char **vp = calloc (2 * nvol + 1, sizeof (char *));
  size_t m = 0;
  for (size_t i = 0; vp && i < o->nr_runs; i++) {
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
      if (asprintf (&vp[m], "VolumeId.%zu", m / 2 + 1) < 0)
        break;
      m++;
      vp[m++] = strdup (d->src_volume);
    }
  }
  if (vp == NULL)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  r = m ? ec2_describe (o->o->source, "DescribeVolumes",
                        (const char *const *) vp,
                        "//*[local-name()='volumeSet']/*[local-name()='item']",
                        on_source_volume, o, err) : 0;
  for (size_t i = 0; i < m; i++)
    free (vp[i]);
  free (vp);
  if (r < 0)
    return ec2_not_plan (r, err);

  /* Instance types: each once. */
  const char *tp[2 * 64 + 1] = { NULL };
  char tnames[64][32];
  size_t nt = 0;
  for (size_t i = 0; i < o->nr_runs && nt < 64; i++) {
    bool seen = false;
    for (size_t j = 0; j < nt; j++)
      seen |= strcmp (tp[2 * j + 1], o->runs[i].vm.type) == 0;
    if (seen || o->runs[i].vm.type[0] == '\0')
      continue;
    snprintf (tnames[nt], sizeof tnames[nt], "InstanceType.%zu", nt + 1);
    tp[2 * nt] = tnames[nt];
    tp[2 * nt + 1] = o->runs[i].vm.type;
    nt++;
  }
  if (nt && (r = ec2_describe (o->o->source, "DescribeInstanceTypes", tp,
                               "//*[local-name()='instanceTypeSet']/"
                               "*[local-name()='item']",
                               on_instance_type, o, err)) < 0)
    return ec2_not_plan (r, err);
  return 0;
}

/* --- Batched polls ---------------------------------------------------- */

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

/* One of the plan's snapshots.  There may be two sets for a VM (a
 * CreateSnapshots whose answer was lost and was sent again by an older
 * run, two runs at once): the earliest good one is kept, the others are
 * deleted; a failed one is never kept over a good one.
 */
static int
on_snapshot (xmlNodePtr item, void *opaque)
{
  struct orch *o = opaque;
  char vol[32], state[16], id[32], start[32];
  struct vm_run *r;
  struct orch_disk *d;

  copy_text (item, "volumeId", vol, sizeof vol);
  copy_text (item, "status", state, sizeof state);
  copy_text (item, "snapshotId", id, sizeof id);
  copy_text (item, "startTime", start, sizeof start);
  if ((d = find_disk (o, vol, &r)) == NULL)
    return 0;
  if (d->snapshot[0] && strcmp (d->snapshot, id) != 0) {
    bool failed = strcmp (state, "error") == 0;
    bool have_failed = strcmp (d->snapshot_state, "error") == 0;
    bool earlier = strcmp (start, d->snapshot_start) < 0 ||
      (strcmp (start, d->snapshot_start) == 0 && strcmp (id, d->snapshot) < 0);
    if (failed || (!have_failed && !earlier)) {
      extra_snapshot (r, id);
      return 0;
    }
    extra_snapshot (r, d->snapshot);
  }
  snprintf (d->snapshot, sizeof d->snapshot, "%s", id);
  snprintf (d->snapshot_state, sizeof d->snapshot_state, "%s", state);
  snprintf (d->snapshot_start, sizeof d->snapshot_start, "%s", start);
  return 0;
}

static int
on_volume (xmlNodePtr item, void *opaque)
{
  struct orch *o = opaque;
  char src[32] = "", id[32], state[16];
  struct orch_disk *d;

  /* Ours are tagged with the volume they copy. */
  for (xmlNodePtr c = item->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE &&
        xmlStrcmp (c->name, BAD_CAST "tagSet") == 0)
      for (xmlNodePtr t = c->children; t; t = t->next) {
        char key[128];
        if (t->type != XML_ELEMENT_NODE)
          continue;
        copy_text (t, "key", key, sizeof key);
        if (strcmp (key, ORCH_TAG_VOLUME) == 0)
          copy_text (t, "value", src, sizeof src);
      }
  copy_text (item, "volumeId", id, sizeof id);
  copy_text (item, "status", state, sizeof state);
  if (src[0] == '\0' || (d = find_disk (o, src, NULL)) == NULL)
    return 0;
  if (strcmp (state, "deleting") == 0 || strcmp (state, "deleted") == 0)
    return 0;
  snprintf (d->volume, sizeof d->volume, "%s", id);
  snprintf (d->volume_state, sizeof d->volume_state, "%s", state);
  return 0;
}

/* Select by the plan's tag: each caller puts the plan's name in place of
 * the first NULL; the second ends the list.
 */
static const char plan_tag_filter[] = "tag:" ORCH_TAG_PLAN;
static const char *const plan_filter_params[] = {
  "Filter.1.Name", plan_tag_filter, "Filter.1.Value.1", NULL, NULL
};

static int
poll_round (struct orch *o, struct v2v_error *err)
{
  bool want[POLL_KUBE + 1] = { false };
  int r = 0;

  for (size_t i = 0; i < o->nr_runs; i++)
    if (o->runs[i].st == RUN_ACTIVE)
      want[o->runs[i].waiting] = true;

  if (want[POLL_INSTANCES]) {
    const char **params = calloc (2 * o->nr_runs + 1, sizeof (char *));
    char (*names)[32] = calloc (o->nr_runs, sizeof *names);
    size_t n = 0;
    for (size_t i = 0; params && names && i < o->nr_runs; i++)
      if (o->runs[i].st == RUN_ACTIVE &&
          o->runs[i].waiting == POLL_INSTANCES) {
        snprintf (names[n / 2], sizeof names[0], "InstanceId.%zu", n / 2 + 1);
        params[n] = names[n / 2];
        params[n + 1] = o->runs[i].vm.id;
        n += 2;
      }
    if (params && names)
      r = ec2_describe (o->o->source, "DescribeInstances", params,
                        "//*[local-name()='instancesSet']/"
                        "*[local-name()='item']", on_instance, o, err);
    free (params);
    free (names);
    if (r < 0)
      return r;
  }
  if (want[POLL_SNAPSHOTS]) {
    const char *params[5];
    memcpy (params, plan_filter_params, sizeof params);
    params[3] = o->p->name;
    if ((r = ec2_describe (o->o->source, "DescribeSnapshots", params,
                           "//*[local-name()='snapshotSet']/"
                           "*[local-name()='item']", on_snapshot, o, err)) < 0)
      return r;
  }
  if (want[POLL_VOLUMES]) {
    const char *params[5];
    memcpy (params, plan_filter_params, sizeof params);
    params[3] = o->p->name;
    if ((r = ec2_describe (o->o->target, "DescribeVolumes", params,
                           "//*[local-name()='volumeSet']/"
                           "*[local-name()='item']", on_volume, o, err)) < 0)
      return r;
  }
  return 0;
}

/* --- Phases ------------------------------------------------------------ */

static enum step
ph_validate (struct orch *o, struct vm_run *r)
{
  struct orch_vm *vm = &r->vm;

  if (vm->nr_disks == 0) {
    fail (r, "instance %s has no EBS volume", vm->id);
    return STEP_FAIL;
  }
  if (vm->nr_ebs_listed > ORCH_MAX_DISKS) {
    fail (r, "instance %s has %zu EBS volumes; at most %d can be migrated "
          "(a VM here takes %d disks)", vm->id, vm->nr_ebs_listed,
          ORCH_MAX_DISKS, ORCH_MAX_DISKS);
    return STEP_FAIL;
  }
  if (vm->nr_enis_listed > ORCH_MAX_NICS) {
    fail (r, "instance %s has %zu network interfaces; at most %d can be "
          "migrated", vm->id, vm->nr_enis_listed, ORCH_MAX_NICS);
    return STEP_FAIL;
  }
  for (size_t i = 0; i < vm->nr_disks; i++)
    if (plan_storage_class (o->p, vm->disks[i].type) == NULL) {
      fail (r, "volume %s is EBS type '%s', which storageMap does not map: "
            "add \"%s\": \"STORAGECLASS\" to it", vm->disks[i].src_volume,
            vm->disks[i].type, vm->disks[i].type);
      return STEP_FAIL;
    }
  if (vm->instance_store[0])
    log_warn ("%s: %s", vm->id, vm->instance_store);
  if (!o->zone_checked) {
    CLEANUP_JSON struct json_object *nodes = NULL;
    struct json_object *items;
    struct v2v_error err = { 0 };
    const char *sel[] = { "topology.kubernetes.io/zone", o->p->target_az,
                          NULL };
    CLEANUP_FREE char *ls = kube_label_selector (sel);
    char path[512];
    snprintf (path, sizeof path, "/api/v1/nodes?labelSelector=%s", ls);
    o->zone_checked = true;
    if (kube_get (o->o->kube, path, &nodes, &err) < 0)
      log_warn ("listing the nodes of %s: %s", o->p->target_az, err.msg);
    /* Schedulable: not cordoned. */
    if (json_object_object_get_ex (nodes, "items", &items))
      for (size_t i = 0; i < json_object_array_length (items); i++) {
        bool cordoned = false;
        json_get_bool (json_object_array_get_idx (items, i),
                       "spec.unschedulable", &cordoned, NULL);
        o->zone_ok |= !cordoned;
      }
  }
  if (!o->zone_ok) {
    fail (r, "no schedulable node is labelled topology.kubernetes.io/zone=%s: "
          "volumes there could not be attached; pick a targetAZ where the "
          "cluster has nodes", o->p->target_az);
    return STEP_FAIL;
  }
  return STEP_DONE;
}

static enum step
ph_stop (struct orch *o, struct vm_run *r)
{
  struct orch_vm *vm = &r->vm;
  struct v2v_error err = { 0 };

  if (vm->prior_state[0] == '\0') {
    /* Before anything changes, the one fact no tag can give back. */
    snprintf (vm->prior_state, sizeof vm->prior_state, "%s", vm->state);
    record (o, r, "Running");
  }
  if (strcmp (vm->state, "stopped") == 0)
    return STEP_DONE;
  if (strcmp (vm->state, "terminated") == 0 ||
      strcmp (vm->state, "shutting-down") == 0) {
    fail (r, "instance %s is %s", vm->id, vm->state);
    return STEP_FAIL;
  }
  /* EC2 refuses to stop a pending instance (IncorrectInstanceState), as
   * one is right after a failed run started it again: wait until it
   * runs, then stop it.
   */
  if (!r->stop_sent && strcmp (vm->state, "running") == 0) {
    const char *params[] = { "InstanceId.1", vm->id, NULL };
    xmlDocPtr doc = NULL;
    if (ec2_call (o->o->source, "StopInstances", params, &doc, &err) < 0) {
      fail_err (r, &err);
      return STEP_FAIL;
    }
    xmlFreeDoc (doc);
    r->stop_sent = true;
    log_info ("%s: stopping the instance", vm->id);
    crash_point ("stop");
  }
  r->waiting = POLL_INSTANCES;
  return STEP_WAIT;
}

static enum step
ph_snapshot (struct orch *o, struct vm_run *r)
{
  struct orch_vm *vm = &r->vm;
  struct v2v_error err = { 0 };
  size_t done = 0, missing = 0;

  /* First look for the snapshots of an earlier run. */
  if (!r->snapshots_seen) {
    r->snapshots_seen = true;
    r->waiting = POLL_SNAPSHOTS;
    return STEP_WAIT;
  }
  delete_extra_snapshots (o, r);
  for (size_t i = 0; i < vm->nr_disks; i++) {
    const char *s = vm->disks[i].snapshot_state;
    if (strcmp (s, "error") == 0) {
      fail (r, "snapshot %s of %s failed", vm->disks[i].snapshot,
            vm->disks[i].src_volume);
      return STEP_FAIL;
    }
    done += strcmp (s, "completed") == 0;
    missing += vm->disks[i].snapshot[0] == '\0';
  }
  if (done == vm->nr_disks)
    return STEP_DONE;
  if (missing && !r->snapshots_sent) {
    if (r->snapshot_tries == 3) {
      fail (r, "CreateSnapshots: no snapshot of %s appeared after 3 "
            "attempts", vm->id);
      return STEP_FAIL;
    }
    /* One crash-consistent call for every disk of the instance, tagged
     * as it is made, so that no crash can leave an untagged snapshot.
     */
    const char *params[2 * (ORCH_MAX_DISKS + 12) + 1];
    char names[ORCH_MAX_DISKS][64];
    size_t n = 0, ex = 0;
    params[n++] = "InstanceSpecification.InstanceId";
    params[n++] = vm->id;
    for (size_t i = 0; i < vm->nr_disks; i++) {
      if (vm->disks[i].snapshot[0] == '\0')
        continue;
      /* Leave out the disks that have one already. */
      if (vm->disks[i].root) {
        params[n++] = "InstanceSpecification.ExcludeBootVolume";
        params[n++] = "true";
      }
      else {
        snprintf (names[ex], sizeof names[ex],
                  "InstanceSpecification.ExcludeDataVolumeId.%zu", ex + 1);
        params[n++] = names[ex];
        params[n++] = vm->disks[i].src_volume;
        ex++;
      }
    }
    params[n++] = "TagSpecification.1.ResourceType";
    params[n++] = "snapshot";
    params[n++] = "TagSpecification.1.Tag.1.Key";
    params[n++] = ORCH_TAG_PLAN;
    params[n++] = "TagSpecification.1.Tag.1.Value";
    params[n++] = o->p->name;
    params[n++] = "TagSpecification.1.Tag.2.Key";
    params[n++] = ORCH_TAG_VM;
    params[n++] = "TagSpecification.1.Tag.2.Value";
    params[n++] = vm->id;
    params[n++] = "Description";
    params[n++] = "v2v-kubevirt migration";
    params[n] = NULL;
    xmlDocPtr doc = NULL;
    /* CreateSnapshots takes no ClientToken: never sent again blindly.
     * When its answer is lost, the snapshots it may have made are
     * looked for (by the plan's tag) before it is sent again.
     */
    r->snapshot_tries++;
    int rc = ec2_call_flags (o->o->source, "CreateSnapshots", params,
                             EC2_CALL_NOT_IDEMPOTENT, &doc, &err);
    if (rc == -EINPROGRESS) {
      log_warn ("%s: %s; looking for the snapshots it may have made",
                vm->id, err.msg);
      r->waiting = POLL_SNAPSHOTS;
      return STEP_WAIT;
    }
    if (rc < 0) {
      fail_err (r, &err);
      return STEP_FAIL;
    }
    for (xmlNodePtr root = xmlDocGetRootElement (doc); root; root = NULL)
      for (xmlNodePtr c = root->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE &&
            xmlStrcmp (c->name, BAD_CAST "snapshotSet") == 0)
          for (xmlNodePtr it = c->children; it; it = it->next)
            if (it->type == XML_ELEMENT_NODE)
              on_snapshot (it, o);
    xmlFreeDoc (doc);
    r->snapshots_sent = true;
    log_info ("%s: snapshotting %zu volume(s)", vm->id, missing);
    crash_point ("snapshot");
  }
  r->waiting = POLL_SNAPSHOTS;
  return STEP_WAIT;
}

static enum step
ph_share (struct orch *o, struct vm_run *r)
{
  struct orch_vm *vm = &r->vm;
  struct v2v_error err = { 0 };

  if (!o->p->cross_account)
    return STEP_DONE;
  for (size_t i = 0; i < vm->nr_disks; i++) {
    const char *params[] = {
      "SnapshotId", vm->disks[i].snapshot,
      "Attribute", "createVolumePermission",
      "OperationType", "add",
      "UserId.1", o->p->target_creds.account_id,
      NULL
    };
    xmlDocPtr doc = NULL;
    if (ec2_call (o->o->source, "ModifySnapshotAttribute", params, &doc,
                  &err) < 0) {
      fail_err (r, &err);
      return STEP_FAIL;
    }
    xmlFreeDoc (doc);
  }
  crash_point ("share");
  return STEP_DONE;
}

static enum step
ph_volumes (struct orch *o, struct vm_run *r)
{
  struct orch_vm *vm = &r->vm;
  struct v2v_error err = { 0 };
  size_t ready = 0;

  if (!r->volumes_seen) {
    r->volumes_seen = true;
    r->waiting = POLL_VOLUMES;
    return STEP_WAIT;
  }
  for (size_t i = 0; i < vm->nr_disks; i++) {
    struct orch_disk *d = &vm->disks[i];
    if (strcmp (d->volume_state, "error") == 0) {
      fail (r, "volume %s (from %s) failed", d->volume, d->snapshot);
      return STEP_FAIL;
    }
    if (d->volume[0] == '\0') {
      /* The same type, IOPS, throughput and encryption as the source:
       * a copy that performs and is protected like the original.
       */
      const char *params[40 + 4 * 50];
      char iops[24], tput[24], size[24];
      size_t n = 0;
      params[n++] = "SnapshotId"; params[n++] = d->snapshot;
      params[n++] = "AvailabilityZone"; params[n++] = o->p->target_az;
      params[n++] = "VolumeType"; params[n++] = d->type;
      snprintf (size, sizeof size, "%" PRIi64, d->size_gib);
      params[n++] = "Size"; params[n++] = size;
      if (d->iops > 0 && (strncmp (d->type, "io", 2) == 0 ||
                          strcmp (d->type, "gp3") == 0)) {
        snprintf (iops, sizeof iops, "%" PRIi64, d->iops);
        params[n++] = "Iops"; params[n++] = iops;
      }
      if (d->throughput > 0 && strcmp (d->type, "gp3") == 0) {
        snprintf (tput, sizeof tput, "%" PRIi64, d->throughput);
        params[n++] = "Throughput"; params[n++] = tput;
      }
      if (d->encrypted) {
        params[n++] = "Encrypted"; params[n++] = "true";
        if (d->kms_key[0]) {
          params[n++] = "KmsKeyId"; params[n++] = d->kms_key;
        }
      }
      /* A retry after a lost answer must not make a second volume;
       * the token is this run's, as a later run finds the volume by
       * its tags instead.
       */
      char token[64];
      snprintf (token, sizeof token, "v2v-%.21s-%lld", d->src_volume,
                (long long) o->run_id);
      params[n++] = "ClientToken"; params[n++] = token;
      params[n++] = "TagSpecification.1.ResourceType"; params[n++] = "volume";
      params[n++] = "TagSpecification.1.Tag.1.Key"; params[n++] = ORCH_TAG_PLAN;
      params[n++] = "TagSpecification.1.Tag.1.Value"; params[n++] = o->p->name;
      params[n++] = "TagSpecification.1.Tag.2.Key"; params[n++] = ORCH_TAG_VM;
      params[n++] = "TagSpecification.1.Tag.2.Value"; params[n++] = vm->id;
      params[n++] = "TagSpecification.1.Tag.3.Key"; params[n++] = ORCH_TAG_VOLUME;
      params[n++] = "TagSpecification.1.Tag.3.Value"; params[n++] = d->src_volume;
      /* The source volume's tags, up to EC2's 50 a resource. */
      char tag_names[47][2][48];
      size_t t = 0;
      for (size_t j = 0; d->src_tags && d->src_tags[j]; j += 2) {
        if (t == 47) {
          log_warn ("%s: volume %s: tag %s not copied (EC2 takes 50 tags, "
                    "3 are the migration's)", vm->id, d->src_volume,
                    d->src_tags[j]);
          continue;
        }
        snprintf (tag_names[t][0], sizeof tag_names[t][0],
                  "TagSpecification.1.Tag.%zu.Key", t + 4);
        snprintf (tag_names[t][1], sizeof tag_names[t][1],
                  "TagSpecification.1.Tag.%zu.Value", t + 4);
        params[n++] = tag_names[t][0]; params[n++] = d->src_tags[j];
        params[n++] = tag_names[t][1]; params[n++] = d->src_tags[j + 1];
        t++;
      }
      params[n] = NULL;
      xmlDocPtr doc = NULL;
      if (ec2_call (o->o->target, "CreateVolume", params, &doc, &err) < 0) {
        fail_err (r, &err);
        return STEP_FAIL;
      }
      xmlNodePtr root = xmlDocGetRootElement (doc);
      copy_text (root, "volumeId", d->volume, sizeof d->volume);
      copy_text (root, "status", d->volume_state, sizeof d->volume_state);
      xmlFreeDoc (doc);
      log_info ("%s: volume %s from %s in %s", vm->id, d->volume,
                d->snapshot, o->p->target_az);
      crash_point ("volumes");
    }
    ready += strcmp (d->volume_state, "available") == 0;
  }
  if (ready == vm->nr_disks)
    return STEP_DONE;
  r->waiting = POLL_VOLUMES;
  return STEP_WAIT;
}

static int
create_ok (struct orch *o, const char *path, struct json_object *obj,
           struct vm_run *r)
{
  struct v2v_error err = { 0 };
  int rc = kube_create (o->o->kube, path, obj, NULL, &err);

  json_object_put (obj);
  if (rc == -EEXIST)
    return 0;
  if (rc < 0) {
    kube_whose (o, &err);
    fail_err (r, &err);
  }
  return rc;
}

static enum step
ph_bind (struct orch *o, struct vm_run *r)
{
  struct orch_vm *vm = &r->vm;
  char path[512];

  for (size_t i = 0; i < vm->nr_disks; i++) {
    struct orch_disk *d = &vm->disks[i];
    if (create_ok (o, "/api/v1/persistentvolumes",
                   orch_render_pv (o->p, vm, d), r) < 0)
      return STEP_FAIL;
    snprintf (path, sizeof path,
              "/api/v1/namespaces/%s/persistentvolumeclaims",
              o->p->target_namespace);
    if (create_ok (o, path, orch_render_pvc (o->p, vm, d), r) < 0)
      return STEP_FAIL;
  }
  crash_point ("bind");
  return STEP_DONE;
}

/* The agent's result: the Pod's termination message, or its result
 * annotation if the container never wrote one.
 */
static void
read_result (struct orch *o, struct vm_run *r)
{
  CLEANUP_JSON struct json_object *pods = NULL;
  struct json_object *items, *pod, *cs, *msg = NULL, *ann, *res;
  struct v2v_error err = { 0 };
  const char *sel[] = { "job-name", r->vm.job, NULL };
  CLEANUP_FREE char *ls = kube_label_selector (sel);
  char path[512];

  snprintf (path, sizeof path, "/api/v1/namespaces/%s/pods?labelSelector=%s",
            o->p->target_namespace, ls);
  if (kube_get (o->o->kube, path, &pods, &err) < 0 ||
      !json_object_object_get_ex (pods, "items", &items) ||
      json_object_array_length (items) == 0)
    return;
  pod = json_object_array_get_idx (items, json_object_array_length (items) - 1);
  if (json_get_array (pod, "status.containerStatuses", &cs, NULL) == 0 &&
      json_object_array_length (cs) > 0) {
    struct json_object *term;
    if (json_get_object (json_object_array_get_idx (cs, 0),
                         "state.terminated", &term, NULL) == 0)
      json_object_object_get_ex (term, "message", &msg);
  }
  if (msg == NULL && json_get_object (pod, "metadata.annotations", &ann,
                                      NULL) == 0 &&
      json_object_object_get_ex (ann, "v2v.kubevirt.io/result", &res))
    msg = res;
  if (msg && json_object_is_type (msg, json_type_string)) {
    struct json_object *j = NULL;
    if (json_parse (json_object_get_string (msg),
                    json_object_get_string_len (msg), 0, &j, NULL) == 0) {
      json_object_put (r->vm.result);
      r->vm.result = j;
    }
  }
}

static enum step
ph_convert (struct orch *o, struct vm_run *r)
{
  struct orch_vm *vm = &r->vm;
  CLEANUP_JSON struct json_object *job = NULL;
  struct v2v_error err = { 0 };
  char path[512];
  int64_t succeeded = 0, failed = 0;

  if (o->p->skip_guest_conversion)
    return STEP_DONE;
  snprintf (path, sizeof path, "/apis/batch/v1/namespaces/%s/jobs",
            o->p->target_namespace);
  if (!r->job_created) {
    if (create_ok (o, path, orch_render_job (o->p, vm), r) < 0)
      return STEP_FAIL;
    r->job_created = true;
    r->job_start = now_s ();
    log_info ("%s: conversion Job %s", vm->id, vm->job);
    crash_point ("convert");
  }
  snprintf (path, sizeof path, "/apis/batch/v1/namespaces/%s/jobs/%s",
            o->p->target_namespace, vm->job);
  if (kube_get (o->o->kube, path, &job, &err) < 0) {
    kube_whose (o, &err);
    fail_err (r, &err);
    return STEP_FAIL;
  }
  json_get_int64 (job, "status.succeeded", &succeeded, NULL);
  json_get_int64 (job, "status.failed", &failed, NULL);
  if (succeeded > 0 || failed > 0) {
    const char *m = NULL;
    read_result (o, r);
    if (succeeded > 0)
      return STEP_DONE;
    if (vm->result)
      json_get_string (vm->result, "message", &m, NULL);
    fail (r, "conversion Job %s failed: %s", vm->job,
          m ? m : "no result from the agent (see the Pod's log)");
    return STEP_FAIL;
  }
  if (now_s () - r->job_start > o->p->job_timeout_s) {
    fail (r, "conversion Job %s did not finish in %.0f s", vm->job,
          o->p->job_timeout_s);
    return STEP_FAIL;
  }
  r->waiting = POLL_KUBE;
  return STEP_WAIT;
}

static enum step
ph_vm (struct orch *o, struct vm_run *r)
{
  struct v2v_error err = { 0 };
  char path[512];

  /* The instance's user data goes into a cloudInitNoCloud volume. */
  if (r->vm.user_data == NULL) {
    const char *params[] = { "InstanceId", r->vm.id, "Attribute", "userData",
                             NULL };
    xmlDocPtr doc = NULL;
    if (ec2_call (o->o->source, "DescribeInstanceAttribute", params, &doc,
                  &err) < 0) {
      fail_err (r, &err);
      return STEP_FAIL;
    }
    char *ud = ec2_xml_text (xmlDocGetRootElement (doc), "userData/value");
    xmlFreeDoc (doc);
    if (ud && *ud)
      r->vm.user_data = ud;
    else
      free (ud);
  }

  snprintf (path, sizeof path,
            "/apis/kubevirt.io/v1/namespaces/%s/virtualmachines",
            o->p->target_namespace);
  if (create_ok (o, path, orch_render_vm (o->p, &r->vm), r) < 0)
    return STEP_FAIL;
  crash_point ("vm");
  return STEP_DONE;
}

/* Delete snapshot ID; a failure is logged.  Returns 0 or -1. */
static int
delete_snapshot (struct orch *o, struct vm_run *r, const char *id)
{
  struct v2v_error err = { 0 };
  const char *params[] = { "SnapshotId", id, NULL };
  xmlDocPtr doc = NULL;
  int rc = ec2_call (o->o->source, "DeleteSnapshot", params, &doc, &err);

  xmlFreeDoc (doc);
  if (rc < 0 && rc != -ENOENT) {
    log_error ("%s: could not delete snapshot %s: %s", r->vm.id, id, err.msg);
    return -1;
  }
  return 0;
}

/* Returns the number of snapshots that could not be deleted. */
static unsigned
delete_snapshots (struct orch *o, struct vm_run *r)
{
  unsigned failed = 0;

  for (size_t i = 0; i < r->vm.nr_disks; i++) {
    struct orch_disk *d = &r->vm.disks[i];
    if (d->snapshot[0] == '\0')
      continue;
    failed += delete_snapshot (o, r, d->snapshot) < 0;
    d->snapshot[0] = '\0';
  }
  return failed;
}

static void
delete_extra_snapshots (struct orch *o, struct vm_run *r)
{
  for (size_t i = 0; i < r->nr_extra_snaps; i++) {
    log_warn ("%s: deleting snapshot %s, of a second snapshot set",
              r->vm.id, r->extra_snaps[i]);
    delete_snapshot (o, r, r->extra_snaps[i]);
  }
  r->nr_extra_snaps = 0;
}

static enum step
ph_cleanup (struct orch *o, struct vm_run *r)
{
  struct v2v_error err = { 0 };
  char path[512];

  delete_extra_snapshots (o, r);
  if (delete_snapshots (o, r) > 0)
    log_warn ("%s: run `v2v-orchestrator cleanup` to delete the snapshots "
              "left", r->vm.id);
  crash_point ("cleanup");
  if (o->p->delete_guest_conversion_pod && !o->p->skip_guest_conversion) {
    snprintf (path, sizeof path, "/apis/batch/v1/namespaces/%s/jobs/%s",
              o->p->target_namespace, r->vm.job);
    if (kube_delete (o->o->kube, path, &err) < 0)
      log_warn ("%s: %s", r->vm.id, err.msg);
  }
  return STEP_DONE;
}

/* A VM failed: its snapshots always go (Forklift keeps them); what this
 * run made in the target goes unless --keep-on-failure; the source
 * starts again if it was running.
 */
/* Delete PATH; a failure is logged.  Returns 0 or -1. */
static int
delete_object (struct orch *o, struct vm_run *r, const char *path)
{
  struct v2v_error err = { 0 };

  if (kube_delete (o->o->kube, path, &err) < 0) {
    kube_whose (o, &err);
    log_error ("%s: could not delete %s: %s", r->vm.id, path, err.msg);
    return -1;
  }
  return 0;
}

/* Returns the number of things that could not be deleted. */
static unsigned
fail_cleanup (struct orch *o, struct vm_run *r)
{
  struct v2v_error err = { 0 };
  char path[512];
  unsigned failed = 0;

  if (r->error[0])
    log_error ("%s: %s", r->vm.id, r->error);
  /* What an earlier, crashed run made is ours too: find it by tags. */
  if (!o->discovered) {
    r->waiting = POLL_SNAPSHOTS;
    poll_round (o, &err);
    r->waiting = POLL_VOLUMES;
    poll_round (o, &err);
    r->waiting = POLL_NONE;
  }
  delete_extra_snapshots (o, r);
  failed += delete_snapshots (o, r);
  if (!o->o->keep_on_failure) {
    snprintf (path, sizeof path, "/apis/batch/v1/namespaces/%s/jobs/%s",
              o->p->target_namespace, r->vm.job);
    failed += delete_object (o, r, path) < 0;
    for (size_t i = 0; i < r->vm.nr_disks; i++) {
      struct orch_disk *d = &r->vm.disks[i];
      snprintf (path, sizeof path,
                "/api/v1/namespaces/%s/persistentvolumeclaims/%s",
                o->p->target_namespace, d->pvc);
      failed += delete_object (o, r, path) < 0;
      snprintf (path, sizeof path, "/api/v1/persistentvolumes/%s", d->pv);
      failed += delete_object (o, r, path) < 0;
      if (d->volume[0]) {
        const char *params[] = { "VolumeId", d->volume, NULL };
        xmlDocPtr doc = NULL;
        if (ec2_call (o->o->target, "DeleteVolume", params, &doc, &err) < 0 &&
            err.code != -ENOENT) {
          log_error ("%s: could not delete volume %s: %s", r->vm.id,
                     d->volume, err.msg);
          failed++;
        }
        xmlFreeDoc (doc);
      }
    }
  }
  if (strcmp (r->vm.prior_state, "running") == 0) {
    const char *params[] = { "InstanceId.1", r->vm.id, NULL };
    xmlDocPtr doc = NULL;
    log_info ("%s: starting the source instance again", r->vm.id);
    if (ec2_call (o->o->source, "StartInstances", params, &doc, &err) < 0)
      log_error ("%s: could not restart the source instance: %s", r->vm.id,
                 err.msg);
    xmlFreeDoc (doc);
  }
  return failed;
}

/* --- The loop ------------------------------------------------------------ */

static void
advance (struct orch *o, struct vm_run *r)
{
  /* A VM resumed past the snapshot phase needs to know its snapshots
   * and volumes again before it goes on: one batched poll of each.
   */
  if (r->discover == 2) {
    r->discover = 1;
    r->waiting = POLL_SNAPSHOTS;
    return;
  }
  if (r->discover == 1) {
    r->discover = 0;
    r->snapshots_seen = r->volumes_seen = true;
    r->waiting = POLL_VOLUMES;
    return;
  }
  while (r->st == RUN_ACTIVE) {
    enum step s;
    r->waiting = POLL_NONE;
    s = phases[r->phase].run (o, r);
    if (s == STEP_WAIT)
      return;
    if (s == STEP_FAIL) {
      fail_cleanup (o, r);
      r->st = RUN_FAILED;
      record (o, r, "Failed");
      return;
    }
    log_info ("%s: %s done in %.1f s", r->vm.id, phases[r->phase].name,
              now_s () - r->phase_start);
    r->phase++;
    r->phase_start = now_s ();
    if (r->phase == (int) NR_PHASES) {
      r->st = RUN_DONE;
      record (o, r, "Succeeded");
      log_info ("%s: migrated to %s/%s", r->vm.id, o->p->target_namespace,
                r->vm.name);
      return;
    }
    record (o, r, "Running");
  }
}

static void
sleep_s (double s)
{
  struct timespec ts = { (time_t) s, (long) ((s - (time_t) s) * 1e9) };

  while (nanosleep (&ts, &ts) == -1 && errno == EINTR)
    ;
}

static void
free_runs (struct orch *o)
{
  for (size_t i = 0; i < o->nr_runs; i++) {
    struct orch_vm *vm = &o->runs[i].vm;
    free (vm->user_data);
    json_object_put (vm->result);
    for (size_t j = 0; j < vm->nr_disks; j++) {
      for (size_t k = 0; vm->disks[j].src_tags && vm->disks[j].src_tags[k];
           k++)
        free (vm->disks[j].src_tags[k]);
      free (vm->disks[j].src_tags);
    }
  }
  free (o->runs);
  o->runs = NULL;
  o->nr_runs = 0;
}

int
orch_migrate (const struct orch_options *opts, struct v2v_error *err)
{
  struct orch o = { .o = opts, .p = opts->plan, .run_id = time (NULL) };
  CLEANUP_JSON struct json_object *migrated = NULL;
  size_t active = 0, finished = 0, failed = 0;
  struct vm_run *refused = NULL;
  int r;

  if ((r = load_records (&o, err)) < 0 || (r = describe_plan (&o, err)) < 0 ||
      (r = list_migrated (&o, &migrated, err)) < 0)
    goto out;

  /* What earlier runs did: finished VMs stay finished; the others start
   * over from validate, each phase finding what was already made.
   */
  for (size_t i = 0; i < o.nr_runs; i++) {
    struct vm_run *run = &o.runs[i];
    CLEANUP_JSON struct json_object *rec = old_record (&o, run->vm.id);
    const char *s;
    if (rec && json_get_string (rec, "priorState", &s, NULL) == 0)
      snprintf (run->vm.prior_state, sizeof run->vm.prior_state, "%s", s);
    const char *vm_name = migrated_as (migrated, run->vm.id);
    bool running = rec && json_get_string (rec, "outcome", &s, NULL) == 0 &&
      strcmp (s, "Running") == 0;
    if (vm_name && !running) {
      /* Migrated by an earlier run whose record `cleanup` deleted: its
       * source is never stopped again, nor its disks converted again.
       */
      run->st = RUN_DONE;
      run->phase = NR_PHASES;
      finished++;
      snprintf (run->note, sizeof run->note, "VirtualMachine %s/%s exists",
                o.p->target_namespace, vm_name);
      log_info ("%s: already migrated (%s)", run->vm.id, run->note);
      record (&o, run, "Succeeded");
    }
    else if (rec && json_get_string (rec, "outcome", &s, NULL) == 0 &&
        strcmp (s, "Succeeded") == 0) {
      run->st = RUN_DONE;
      run->phase = NR_PHASES;
      finished++;
      log_info ("%s: already migrated", run->vm.id);
    }
    else if (rec && strcmp (s, "Running") == 0 &&
             json_get_string (rec, "phase", &s, NULL) == 0) {
      /* Interrupted: go on from the phase it was in (which looks for
       * what it had begun to make).  A failed VM starts over.
       */
      for (size_t p = 0; p < NR_PHASES; p++)
        if (strcmp (phases[p].name, s) == 0 && p > 0) {
          run->phase = p;
          run->discover = p > 2 ? 2 : 0;
          log_info ("%s: resuming at %s", run->vm.id, s);
        }
    }
  }

  while (finished < o.nr_runs) {
    /* Start VMs up to maxInFlight. */
    for (size_t i = 0; i < o.nr_runs && active < o.p->max_in_flight; i++)
      if (o.runs[i].st == RUN_PENDING) {
        o.runs[i].st = RUN_ACTIVE;
        o.runs[i].phase_start = now_s ();
        active++;
        log_info ("%s: migrating (%zu disk(s), %s)", o.runs[i].vm.id,
                  o.runs[i].vm.nr_disks, o.runs[i].vm.type);
      }
    for (size_t i = 0; i < o.nr_runs; i++) {
      struct vm_run *run = &o.runs[i];
      if (run->st != RUN_ACTIVE)
        continue;
      advance (&o, run);
      if (run->st != RUN_ACTIVE) {
        active--;
        finished++;
        failed += run->st == RUN_FAILED;
        if (run->st == RUN_FAILED && run->err_code == -EACCES && !refused)
          refused = run;
      }
    }
    if (finished == o.nr_runs)
      break;
    sleep_s (o.p->poll_interval_s);
    if (poll_round (&o, err) < 0)
      log_warn ("polling: %s (trying again next round)", err->msg);
  }
  log_info ("plan %s: %zu VM(s) migrated, %zu failed", o.p->name,
            o.nr_runs - failed, failed);
  r = failed ? 1 : 0;
  /* Credentials refused: that is what the user must fix first. */
  if (refused)
    r = v2v_error_set (err, -EACCES, "%s: %s", refused->vm.id,
                       refused->error);

out:
  free_runs (&o);
  json_object_put (o.records);
  return r;
}

int
orch_status (const struct orch_options *opts, struct v2v_error *err)
{
  struct orch o = { .o = opts, .p = opts->plan };
  CLEANUP_JSON struct json_object *cm = NULL;
  struct json_object *data = NULL;
  char path[512];
  int r;

  snprintf (path, sizeof path, "/api/v1/namespaces/%s/configmaps/v2v-plan-%s",
            o.p->target_namespace, o.p->name);
  CLEANUP_JSON struct json_object *migrated = NULL;
  struct json_object *items;
  size_t shown = 0;

  r = kube_get (opts->kube, path, &cm, err);
  kube_whose (&o, err);
  if (r < 0 && r != -ENOENT)
    return r;
  if ((r = list_migrated (&o, &migrated, err)) < 0)
    return r;
  if (cm)
    json_object_object_get_ex (cm, "data", &data);
  printf ("%-22s %-10s %8s  %-9s %s\n", "VM", "PHASE", "PROGRESS", "OUTCOME",
          "ERROR");
  /* The plan's VirtualMachines with no record (`cleanup` deleted it):
   * those instances are migrated.
   */
  json_object_object_get_ex (migrated, "items", &items);
  for (size_t i = 0; i < json_object_array_length (items); i++) {
    struct json_object *vm = json_object_array_get_idx (items, i);
    struct json_object *labels, *plan, *id, *rec;
    const char *name = "?";
    if (json_get_object (vm, "metadata.labels", &labels, NULL) < 0 ||
        !json_object_object_get_ex (labels, ORCH_LABEL_PLAN, &plan) ||
        strcmp (json_object_get_string (plan), o.p->name) != 0 ||
        !json_object_object_get_ex (labels, ORCH_LABEL_VM, &id) ||
        (data && json_object_object_get_ex (data, json_object_get_string (id),
                                            &rec)))
      continue;
    json_get_string (vm, "metadata.name", &name, NULL);
    printf ("%-22s %-10s %7d%%  %-9s VirtualMachine %s/%s exists\n",
            json_object_get_string (id), "done", 100, "Succeeded",
            o.p->target_namespace, name);
    shown++;
  }
  if (shown == 0 && (data == NULL || json_object_object_length (data) == 0)) {
    printf ("(plan %s has not started)\n", o.p->name);
    return 0;
  }
  if (data == NULL)
    return 0;
  json_object_object_foreach (data, id, v) {
    CLEANUP_JSON struct json_object *rec = NULL;
    const char *phase = "?", *outcome = "?", *error = "", *note = "";
    size_t idx = NR_PHASES;
    if (json_parse (json_object_get_string (v), json_object_get_string_len (v),
                    0, &rec, NULL) < 0)
      continue;
    json_get_string (rec, "phase", &phase, NULL);
    json_get_string (rec, "outcome", &outcome, NULL);
    json_get_string (rec, "error", &error, NULL);
    json_get_string (rec, "note", &note, NULL);
    for (size_t i = 0; i < NR_PHASES; i++)
      if (strcmp (phases[i].name, phase) == 0)
        idx = i;
    printf ("%-22s %-10s %7zu%%  %-9s %s\n", id, phase,
            strcmp (outcome, "Succeeded") == 0 ? 100 : idx * 100 / NR_PHASES,
            outcome, error[0] ? error : note);
  }
  return 0;
}

int
orch_cleanup (const struct orch_options *opts, bool purge,
              struct v2v_error *err)
{
  struct orch o = { .o = opts, .p = opts->plan };
  unsigned failed = 0;
  const struct orch_options keep = { .plan = opts->plan,
                                     .source = opts->source,
                                     .target = opts->target,
                                     .kube = opts->kube,
                                     .keep_on_failure = !purge };
  char path[512];
  int r;

  o.o = &keep;
  if ((r = describe_plan (&o, err)) < 0)
    return r;
  /* One batched look at every VM's snapshots and volumes. */
  for (size_t i = 0; i < o.nr_runs; i++) {
    o.runs[i].st = RUN_ACTIVE;
    o.runs[i].waiting = POLL_SNAPSHOTS;
  }
  /* Without a full look, a snapshot or volume could be left unseen. */
  if ((r = poll_round (&o, err)) < 0)
    goto out;
  for (size_t i = 0; i < o.nr_runs; i++)
    o.runs[i].waiting = POLL_VOLUMES;
  if ((r = poll_round (&o, err)) < 0)
    goto out;
  o.discovered = true;
  for (size_t i = 0; i < o.nr_runs; i++) {
    struct vm_run *run = &o.runs[i];
    unsigned vm_failed;
    delete_extra_snapshots (&o, run);
    vm_failed = delete_snapshots (&o, run);
    snprintf (path, sizeof path, "/apis/batch/v1/namespaces/%s/jobs/%s",
              o.p->target_namespace, run->vm.job);
    vm_failed += delete_object (&o, run, path) < 0;
    if (purge) {
      snprintf (path, sizeof path,
                "/apis/kubevirt.io/v1/namespaces/%s/virtualmachines/%s",
                o.p->target_namespace, run->vm.name);
      vm_failed += delete_object (&o, run, path) < 0;
      /* The rest as a failed migration would: PVCs, PVs, volumes. */
      run->vm.prior_state[0] = '\0';
      vm_failed += fail_cleanup (&o, run);
    }
    if (vm_failed)
      printf ("%s: %u thing(s) could not be deleted (see the log)\n",
              run->vm.id, vm_failed);
    else
      printf ("%s: cleaned\n", run->vm.id);
    failed += vm_failed;
  }
  /* The records go last, and only when all else went: a cleanup that
   * could not finish leaves them for the next one.
   */
  if (failed == 0) {
    struct vm_run none = { .vm.id = "plan" };
    snprintf (path, sizeof path,
              "/api/v1/namespaces/%s/configmaps/v2v-plan-%s",
              o.p->target_namespace, o.p->name);
    failed += delete_object (&o, &none, path) < 0;
  }
  r = failed ? 1 : 0;
  if (failed)
    log_error ("cleanup: %u thing(s) could not be deleted", failed);
out:
  free_runs (&o);
  return r;
}
