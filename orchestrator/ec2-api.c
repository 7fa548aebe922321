/* The typed EC2 calls: parameters in, structs out; see ec2.h.  The only
 * place outside the client's core where EC2's XML is read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "ec2-internal.h"
#include "strv.h"

#define ITEMS(set) "//*[local-name()='" set "']/*[local-name()='item']"

/* Parameters as a strv of name, value pairs. */
static int __attribute__ ((format (printf, 3, 4)))
param (char ***p, const char *value, const char *fmt, ...)
{
  va_list ap;
  char *name;
  int r;

  va_start (ap, fmt);
  r = vasprintf (&name, fmt, ap);
  va_end (ap);
  if (r < 0)
    return -ENOMEM;
  if (strv_push (p, name) < 0 || strv_add (p, value) < 0)
    return -ENOMEM;
  return 0;
}

/* PREFIX.1 .. PREFIX.N for each of LIST. */
static int
param_list (char ***p, const char *prefix, const char *const *list)
{
  for (size_t i = 0; list && list[i]; i++)
    if (param (p, list[i], "%s.%zu", prefix, i + 1) < 0)
      return -ENOMEM;
  return 0;
}

static int
param_filters (char ***p, const struct ec2_filter *f, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (param (p, f[i].name, "Filter.%zu.Name", i + 1) < 0)
      return -ENOMEM;
    for (size_t j = 0; f[i].values && f[i].values[j]; j++)
      if (param (p, f[i].values[j], "Filter.%zu.Value.%zu", i + 1, j + 1) < 0)
        return -ENOMEM;
  }
  return 0;
}

/* MaxResults for a listing Describe: only with no ids (EC2 refuses both
 * in one request) and when the client asks for pages, cut to ACTION_MAX,
 * what the action takes.
 */
static int
param_page (char ***p, struct ec2_client *c, const char *const *ids,
            unsigned action_max)
{
  unsigned n = ec2_internal_page_size (c);
  char num[16];

  if (n == 0 || (ids && ids[0]))
    return 0;
  if (n > action_max)
    n = action_max;
  if (n < 5)                    /* EC2's least */
    n = 5;
  snprintf (num, sizeof num, "%u", n);
  return param (p, num, "MaxResults");
}

/* TagSpecification.1 of RESOURCE with TAGS (key, value, ..., NULL). */
static int
param_tags (char ***p, const char *resource, const char *const *tags)
{
  if (tags == NULL || tags[0] == NULL)
    return 0;
  if (param (p, resource, "TagSpecification.1.ResourceType") < 0)
    return -ENOMEM;
  for (size_t i = 0; tags[i] && tags[i + 1]; i += 2)
    if (param (p, tags[i], "TagSpecification.1.Tag.%zu.Key", i / 2 + 1) < 0 ||
        param (p, tags[i + 1], "TagSpecification.1.Tag.%zu.Value",
               i / 2 + 1) < 0)
      return -ENOMEM;
  return 0;
}

static int
nomem (struct v2v_error *err)
{
  return v2v_error_set (err, -ENOMEM, "out of memory");
}

/* A growing array of structs for a Describe* callback. */
struct grow {
  void *v;
  size_t n, size;
};

static void *
grow_next (struct grow *g)
{
  char *nv = realloc (g->v, (g->n + 1) * g->size);

  if (nv == NULL)
    return NULL;
  g->v = nv;
  memset (nv + g->n * g->size, 0, g->size);
  return nv + g->n++ * g->size;
}

const char *
ec2_tag (char *const *tags, const char *key)
{
  for (size_t i = 0; tags && tags[i] && tags[i + 1]; i += 2)
    if (strcmp (tags[i], key) == 0)
      return tags[i + 1];
  return NULL;
}

/* --- Instances ---------------------------------------------------------- */

void
ec2_instances_free (struct ec2_instance *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++) {
    free (v[i].disks);
    free (v[i].enis);
    strv_free (v[i].tags);
    strv_free (v[i].security_groups);
  }
  free (v);
}

static int
on_instance (xmlNodePtr item, void *opaque)
{
  struct grow *g = opaque;
  struct ec2_instance *in = grow_next (g);

  if (in == NULL)
    return -ENOMEM;
  ec2_xml_copy (item, "instanceId", in->id, sizeof in->id);
  ec2_xml_copy (item, "imageId", in->image_id, sizeof in->image_id);
  ec2_xml_copy (item, "instanceState/name", in->state, sizeof in->state);
  ec2_xml_copy (item, "instanceType", in->type, sizeof in->type);
  ec2_xml_copy (item, "placement/availabilityZone", in->az, sizeof in->az);
  ec2_xml_copy (item, "bootMode", in->boot_mode, sizeof in->boot_mode);
  ec2_xml_copy (item, "rootDeviceName", in->root_device,
                sizeof in->root_device);
  in->core_count = (int) ec2_xml_int (item, "cpuOptions/coreCount");
  in->threads_per_core = (int) ec2_xml_int (item, "cpuOptions/threadsPerCore");
  if (ec2_xml_tags (item, &in->tags) < 0)
    return -ENOMEM;
  for (xmlNodePtr it = ec2_xml_items (item, "groupSet"); it;
       it = ec2_xml_next (it)) {
    char *id = ec2_xml_text (it, "groupId");
    if (id != NULL && strv_push (&in->security_groups, id) < 0)
      return -ENOMEM;
  }
  for (xmlNodePtr it = ec2_xml_items (item, "blockDeviceMapping"); it;
       it = ec2_xml_next (it)) {
    struct ec2_block_device *d;
    char vol[32];
    ec2_xml_copy (it, "ebs/volumeId", vol, sizeof vol);
    if (vol[0] == '\0')         /* not EBS */
      continue;
    d = realloc (in->disks, (in->nr_disks + 1) * sizeof *d);
    if (d == NULL)
      return -ENOMEM;
    in->disks = d;
    d = &d[in->nr_disks++];
    ec2_xml_copy (it, "deviceName", d->device, sizeof d->device);
    snprintf (d->volume_id, sizeof d->volume_id, "%s", vol);
  }
  for (xmlNodePtr it = ec2_xml_items (item, "networkInterfaceSet"); it;
       it = ec2_xml_next (it)) {
    struct ec2_eni *e = realloc (in->enis, (in->nr_enis + 1) * sizeof *e);
    if (e == NULL)
      return -ENOMEM;
    in->enis = e;
    e = &e[in->nr_enis++];
    ec2_xml_copy (it, "macAddress", e->mac, sizeof e->mac);
    ec2_xml_copy (it, "subnetId", e->subnet, sizeof e->subnet);
    e->device_index = (int) ec2_xml_int (it, "attachment/deviceIndex");
  }
  return 0;
}

int
ec2_describe_instances (struct ec2_client *c, const char *const *ids,
                        const struct ec2_filter *filters, size_t nr_filters,
                        struct ec2_instance **ret, size_t *ret_n,
                        struct v2v_error *err)
{
  CLEANUP_STRV char **p = NULL;
  struct grow g = { .size = sizeof (struct ec2_instance) };
  int r;

  if (param_list (&p, "InstanceId", ids) < 0 ||
      param_filters (&p, filters, nr_filters) < 0 ||
      param_page (&p, c, ids, 1000) < 0)
    return nomem (err);
  r = ec2_describe (c, "DescribeInstances", (const char *const *) p,
                    ITEMS ("instancesSet"), on_instance, &g, err);
  if (r < 0) {
    if (r == -ENOMEM)
      nomem (err);
    ec2_instances_free (g.v, g.n);
    return r;
  }
  *ret = g.v;
  *ret_n = g.n;
  return 0;
}

int
ec2_stop_instance (struct ec2_client *c, const char *id,
                   struct v2v_error *err)
{
  const char *p[] = { "InstanceId.1", id, NULL };
  CLEANUP_XMLDOC xmlDocPtr doc = NULL;

  return ec2_call (c, "StopInstances", p, &doc, err);
}

int
ec2_start_instance (struct ec2_client *c, const char *id,
                    struct v2v_error *err)
{
  const char *p[] = { "InstanceId.1", id, NULL };
  CLEANUP_XMLDOC xmlDocPtr doc = NULL;

  return ec2_call (c, "StartInstances", p, &doc, err);
}

int
ec2_describe_user_data (struct ec2_client *c, const char *id, char **ret,
                        struct v2v_error *err)
{
  const char *p[] = { "InstanceId", id, "Attribute", "userData", NULL };
  CLEANUP_XMLDOC xmlDocPtr doc = NULL;
  char *ud;
  int r;

  if ((r = ec2_call (c, "DescribeInstanceAttribute", p, &doc, err)) < 0)
    return r;
  ud = ec2_xml_text (xmlDocGetRootElement (doc), "userData/value");
  if (ud && *ud == '\0') {
    free (ud);
    ud = NULL;
  }
  *ret = ud;
  return 0;
}

static int
on_instance_type (xmlNodePtr item, void *opaque)
{
  struct grow *g = opaque;
  struct ec2_instance_type *t = grow_next (g);

  if (t == NULL)
    return -ENOMEM;
  ec2_xml_copy (item, "instanceType", t->name, sizeof t->name);
  t->vcpus = (int) ec2_xml_int (item, "vCpuInfo/defaultVCpus");
  t->default_cores = (int) ec2_xml_int (item, "vCpuInfo/defaultCores");
  t->default_threads_per_core =
    (int) ec2_xml_int (item, "vCpuInfo/defaultThreadsPerCore");
  t->memory_mib = ec2_xml_int (item, "memoryInfo/sizeInMiB");
  t->instance_store_gb = ec2_xml_int (item,
                                      "instanceStorageInfo/totalSizeInGB");
  for (xmlNodePtr it = ec2_xml_items (item, "instanceStorageInfo/disks"); it;
       it = ec2_xml_next (it)) {
    int64_t count = ec2_xml_int (it, "count");
    int64_t gb = ec2_xml_int (it, "sizeInGB");
    for (int64_t k = 0; k < count &&
                        t->nr_store_disks < EC2_MAX_STORE_DISKS; k++)
      t->store_disk_gb[t->nr_store_disks++] = gb;
  }
  return 0;
}

static int
on_image (xmlNodePtr item, void *opaque)
{
  struct grow *g = opaque;
  struct ec2_image *im = grow_next (g);

  if (im == NULL)
    return -ENOMEM;
  ec2_xml_copy (item, "imageId", im->id, sizeof im->id);
  for (xmlNodePtr it = ec2_xml_items (item, "blockDeviceMapping"); it;
       it = ec2_xml_next (it)) {
    char virt[32];
    const char *p;
    char *end;
    long n;
    ec2_xml_copy (it, "virtualName", virt, sizeof virt);
    if (strncmp (virt, "ephemeral", 9) != 0)
      continue;
    p = virt + 9;
    n = strtol (p, &end, 10);
    if (end == p || *end || n < 0 || n >= EC2_MAX_STORE_DISKS ||
        im->nr_ephemeral == EC2_MAX_STORE_DISKS)
      continue;
    im->ephemeral[im->nr_ephemeral].ephemeral = (int) n;
    ec2_xml_copy (it, "deviceName", im->ephemeral[im->nr_ephemeral].device,
                  sizeof im->ephemeral[0].device);
    im->nr_ephemeral++;
  }
  return 0;
}

int
ec2_describe_images (struct ec2_client *c, const char *const *ids,
                     struct ec2_image **ret, size_t *ret_n,
                     struct v2v_error *err)
{
  CLEANUP_STRV char **p = NULL;
  struct grow g = { .size = sizeof (struct ec2_image) };
  const struct ec2_filter f = { "image-id", ids };
  int r;

  if (param_filters (&p, &f, 1) < 0)
    return nomem (err);
  r = ec2_describe (c, "DescribeImages", (const char *const *) p,
                    ITEMS ("imagesSet"), on_image, &g, err);
  if (r < 0) {
    free (g.v);
    return r == -ENOMEM ? nomem (err) : r;
  }
  *ret = g.v;
  *ret_n = g.n;
  return 0;
}

int
ec2_describe_instance_types (struct ec2_client *c, const char *const *types,
                             const struct ec2_filter *filters,
                             size_t nr_filters,
                             struct ec2_instance_type **ret, size_t *ret_n,
                             struct v2v_error *err)
{
  CLEANUP_STRV char **p = NULL;
  struct grow g = { .size = sizeof (struct ec2_instance_type) };
  int r;

  if (param_list (&p, "InstanceType", types) < 0 ||
      param_filters (&p, filters, nr_filters) < 0 ||
      param_page (&p, c, types, 100) < 0)
    return nomem (err);
  r = ec2_describe (c, "DescribeInstanceTypes", (const char *const *) p,
                    ITEMS ("instanceTypeSet"), on_instance_type, &g, err);
  if (r < 0) {
    free (g.v);
    return r == -ENOMEM ? nomem (err) : r;
  }
  *ret = g.v;
  *ret_n = g.n;
  return 0;
}

/* --- Volumes ---------------------------------------------------------- */

void
ec2_volumes_free (struct ec2_volume *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++)
    strv_free (v[i].tags);
  free (v);
}

static void
read_volume (xmlNodePtr item, struct ec2_volume *v)
{
  char enc[8];

  ec2_xml_copy (item, "volumeId", v->id, sizeof v->id);
  ec2_xml_copy (item, "status", v->state, sizeof v->state);
  ec2_xml_copy (item, "volumeType", v->type, sizeof v->type);
  ec2_xml_copy (item, "availabilityZone", v->az, sizeof v->az);
  ec2_xml_copy (item, "snapshotId", v->snapshot_id, sizeof v->snapshot_id);
  v->size_gib = ec2_xml_int (item, "size");
  v->iops = ec2_xml_int (item, "iops");
  v->throughput = ec2_xml_int (item, "throughput");
  ec2_xml_copy (item, "encrypted", enc, sizeof enc);
  v->encrypted = strcmp (enc, "true") == 0;
  ec2_xml_copy (item, "kmsKeyId", v->kms_key, sizeof v->kms_key);
}

static int
on_volume (xmlNodePtr item, void *opaque)
{
  struct grow *g = opaque;
  struct ec2_volume *v = grow_next (g);

  if (v == NULL)
    return -ENOMEM;
  read_volume (item, v);
  return ec2_xml_tags (item, &v->tags);
}

int
ec2_describe_volumes (struct ec2_client *c, const char *const *ids,
                      const struct ec2_filter *filters, size_t nr_filters,
                      struct ec2_volume **ret, size_t *ret_n,
                      struct v2v_error *err)
{
  CLEANUP_STRV char **p = NULL;
  struct grow g = { .size = sizeof (struct ec2_volume) };
  int r;

  if (param_list (&p, "VolumeId", ids) < 0 ||
      param_filters (&p, filters, nr_filters) < 0 ||
      param_page (&p, c, ids, 500) < 0)
    return nomem (err);
  r = ec2_describe (c, "DescribeVolumes", (const char *const *) p,
                    ITEMS ("volumeSet"), on_volume, &g, err);
  if (r < 0) {
    ec2_volumes_free (g.v, g.n);
    return r == -ENOMEM ? nomem (err) : r;
  }
  *ret = g.v;
  *ret_n = g.n;
  return 0;
}

int
ec2_create_volume (struct ec2_client *c, const struct ec2_volume_spec *s,
                   struct ec2_volume *ret, struct v2v_error *err)
{
  CLEANUP_STRV char **p = NULL;
  CLEANUP_XMLDOC xmlDocPtr doc = NULL;
  char num[24];
  int r = 0;

  r |= param (&p, s->snapshot_id, "SnapshotId");
  r |= param (&p, s->az, "AvailabilityZone");
  r |= param (&p, s->type, "VolumeType");
  snprintf (num, sizeof num, "%" PRIi64, s->size_gib);
  r |= param (&p, num, "Size");
  if (s->iops > 0) {
    snprintf (num, sizeof num, "%" PRIi64, s->iops);
    r |= param (&p, num, "Iops");
  }
  if (s->throughput > 0) {
    snprintf (num, sizeof num, "%" PRIi64, s->throughput);
    r |= param (&p, num, "Throughput");
  }
  if (s->encrypted) {
    r |= param (&p, "true", "Encrypted");
    if (s->kms_key && *s->kms_key)
      r |= param (&p, s->kms_key, "KmsKeyId");
  }
  if (s->client_token)
    r |= param (&p, s->client_token, "ClientToken");
  r |= param_tags (&p, "volume", s->tags);
  if (r < 0)
    return nomem (err);
  if ((r = ec2_call (c, "CreateVolume", (const char *const *) p, &doc,
                     err)) < 0)
    return r;
  memset (ret, 0, sizeof *ret);
  read_volume (xmlDocGetRootElement (doc), ret);
  return 0;
}

int
ec2_delete_volume (struct ec2_client *c, const char *id,
                   struct v2v_error *err)
{
  const char *p[] = { "VolumeId", id, NULL };
  CLEANUP_XMLDOC xmlDocPtr doc = NULL;

  return ec2_call (c, "DeleteVolume", p, &doc, err);
}

/* --- Snapshots ---------------------------------------------------------- */

void
ec2_snapshots_free (struct ec2_snapshot *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++)
    strv_free (v[i].tags);
  free (v);
}

static int
on_snapshot (xmlNodePtr item, void *opaque)
{
  struct grow *g = opaque;
  struct ec2_snapshot *s = grow_next (g);

  if (s == NULL)
    return -ENOMEM;
  ec2_xml_copy (item, "snapshotId", s->id, sizeof s->id);
  ec2_xml_copy (item, "volumeId", s->volume_id, sizeof s->volume_id);
  ec2_xml_copy (item, "status", s->state, sizeof s->state);
  ec2_xml_copy (item, "startTime", s->start_time, sizeof s->start_time);
  /* "45%"; EC2 may leave it out of a snapshot just created. */
  char progress[16];
  ec2_xml_copy (item, "progress", progress, sizeof progress);
  s->progress = -1;
  if (progress[0] >= '0' && progress[0] <= '9')
    s->progress = (int) strtol (progress, NULL, 10);
  return ec2_xml_tags (item, &s->tags);
}

int
ec2_describe_snapshots (struct ec2_client *c,
                        const struct ec2_filter *filters, size_t nr_filters,
                        struct ec2_snapshot **ret, size_t *ret_n,
                        struct v2v_error *err)
{
  CLEANUP_STRV char **p = NULL;
  struct grow g = { .size = sizeof (struct ec2_snapshot) };
  int r;

  if (param_filters (&p, filters, nr_filters) < 0)
    return nomem (err);
  r = ec2_describe (c, "DescribeSnapshots", (const char *const *) p,
                    ITEMS ("snapshotSet"), on_snapshot, &g, err);
  if (r < 0) {
    ec2_snapshots_free (g.v, g.n);
    return r == -ENOMEM ? nomem (err) : r;
  }
  *ret = g.v;
  *ret_n = g.n;
  return 0;
}

int
ec2_create_snapshots (struct ec2_client *c,
                      const struct ec2_snapshots_spec *s,
                      struct ec2_snapshot **ret, size_t *ret_n,
                      struct v2v_error *err)
{
  CLEANUP_STRV char **p = NULL;
  CLEANUP_XMLDOC xmlDocPtr doc = NULL;
  struct grow g = { .size = sizeof (struct ec2_snapshot) };
  int r = 0;

  r |= param (&p, s->instance_id, "InstanceSpecification.InstanceId");
  if (s->exclude_boot)
    r |= param (&p, "true", "InstanceSpecification.ExcludeBootVolume");
  r |= param_list (&p, "InstanceSpecification.ExcludeDataVolumeId",
                   s->exclude_volumes);
  r |= param_tags (&p, "snapshot", s->tags);
  if (s->description)
    r |= param (&p, s->description, "Description");
  if (r < 0)
    return nomem (err);
  /* No ClientToken: never sent again once EC2 may have acted. */
  if ((r = ec2_call_flags (c, "CreateSnapshots", (const char *const *) p,
                           EC2_CALL_NOT_IDEMPOTENT, &doc, err)) < 0)
    return r;
  for (xmlNodePtr it = ec2_xml_items (xmlDocGetRootElement (doc),
                                      "snapshotSet");
       it; it = ec2_xml_next (it))
    if (on_snapshot (it, &g) < 0) {
      ec2_snapshots_free (g.v, g.n);
      return nomem (err);
    }
  *ret = g.v;
  *ret_n = g.n;
  return 0;
}

int
ec2_share_snapshot (struct ec2_client *c, const char *id,
                    const char *account, struct v2v_error *err)
{
  const char *p[] = {
    "SnapshotId", id, "Attribute", "createVolumePermission",
    "OperationType", "add", "UserId.1", account, NULL
  };
  CLEANUP_XMLDOC xmlDocPtr doc = NULL;

  return ec2_call (c, "ModifySnapshotAttribute", p, &doc, err);
}

int
ec2_delete_snapshot (struct ec2_client *c, const char *id,
                     struct v2v_error *err)
{
  const char *p[] = { "SnapshotId", id, NULL };
  CLEANUP_XMLDOC xmlDocPtr doc = NULL;

  return ec2_call (c, "DeleteSnapshot", p, &doc, err);
}

/* --- Subnets ---------------------------------------------------------- */

void
ec2_subnets_free (struct ec2_subnet *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++)
    strv_free (v[i].tags);
  free (v);
}

static int
on_subnet (xmlNodePtr item, void *opaque)
{
  struct grow *g = opaque;
  struct ec2_subnet *s = grow_next (g);
  char def[8];

  if (s == NULL)
    return -ENOMEM;
  ec2_xml_copy (item, "subnetId", s->id, sizeof s->id);
  ec2_xml_copy (item, "vpcId", s->vpc, sizeof s->vpc);
  ec2_xml_copy (item, "availabilityZone", s->az, sizeof s->az);
  ec2_xml_copy (item, "cidrBlock", s->cidr, sizeof s->cidr);
  ec2_xml_copy (item, "state", s->state, sizeof s->state);
  s->available_ips = ec2_xml_int (item, "availableIpAddressCount");
  ec2_xml_copy (item, "defaultForAz", def, sizeof def);
  s->default_for_az = strcmp (def, "true") == 0;
  return ec2_xml_tags (item, &s->tags);
}

int
ec2_describe_subnets (struct ec2_client *c, const char *const *ids,
                      const struct ec2_filter *filters, size_t nr_filters,
                      struct ec2_subnet **ret, size_t *ret_n,
                      struct v2v_error *err)
{
  CLEANUP_STRV char **p = NULL;
  struct grow g = { .size = sizeof (struct ec2_subnet) };
  int r;

  if (param_list (&p, "SubnetId", ids) < 0 ||
      param_filters (&p, filters, nr_filters) < 0 ||
      param_page (&p, c, ids, 1000) < 0)
    return nomem (err);
  r = ec2_describe (c, "DescribeSubnets", (const char *const *) p,
                    ITEMS ("subnetSet"), on_subnet, &g, err);
  if (r < 0) {
    ec2_subnets_free (g.v, g.n);
    return r == -ENOMEM ? nomem (err) : r;
  }
  *ret = g.v;
  *ret_n = g.n;
  return 0;
}

/* --- Security groups -------------------------------------------------- */

static void
rules_free (struct ec2_sg_rule *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++)
    free (v[i].peers);
  free (v);
}

void
ec2_security_groups_free (struct ec2_security_group *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++) {
    rules_free (v[i].in, v[i].nr_in);
    rules_free (v[i].out, v[i].nr_out);
    strv_free (v[i].tags);
  }
  free (v);
}

const struct ec2_security_group *
ec2_security_group_find (const struct ec2_security_group *v, size_t n,
                         const char *id)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (v[i].id, id) == 0)
      return &v[i];
  return NULL;
}

/* The peers of one rule from its SET (ipRanges, ...), each's FIELD. */
static int
read_peers (xmlNodePtr perm, const char *set, const char *field,
            enum ec2_peer_kind kind, struct ec2_sg_rule *rule)
{
  for (xmlNodePtr it = ec2_xml_items (perm, set); it; it = ec2_xml_next (it)) {
    struct ec2_sg_peer *np = realloc (rule->peers,
                                      (rule->nr_peers + 1) * sizeof *np);
    if (np == NULL)
      return -ENOMEM;
    rule->peers = np;
    np = &np[rule->nr_peers++];
    np->kind = kind;
    ec2_xml_copy (it, field, np->value, sizeof np->value);
  }
  return 0;
}

static int
read_rules (xmlNodePtr item, const char *set, struct ec2_sg_rule **ret,
            size_t *ret_n)
{
  for (xmlNodePtr it = ec2_xml_items (item, set); it; it = ec2_xml_next (it)) {
    struct ec2_sg_rule *nr = realloc (*ret, (*ret_n + 1) * sizeof *nr);
    CLEANUP_FREE char *from = NULL;
    if (nr == NULL)
      return -ENOMEM;
    *ret = nr;
    nr = &nr[(*ret_n)++];
    memset (nr, 0, sizeof *nr);
    ec2_xml_copy (it, "ipProtocol", nr->protocol, sizeof nr->protocol);
    from = ec2_xml_text (it, "fromPort");
    nr->has_ports = from != NULL;
    nr->from_port = (int) ec2_xml_int (it, "fromPort");
    nr->to_port = (int) ec2_xml_int (it, "toPort");
    if (read_peers (it, "ipRanges", "cidrIp", EC2_PEER_CIDR, nr) < 0 ||
        read_peers (it, "ipv6Ranges", "cidrIpv6", EC2_PEER_CIDR6, nr) < 0 ||
        read_peers (it, "groups", "groupId", EC2_PEER_GROUP, nr) < 0 ||
        read_peers (it, "prefixListIds", "prefixListId",
                    EC2_PEER_PREFIX_LIST, nr) < 0)
      return -ENOMEM;
  }
  return 0;
}

static int
on_security_group (xmlNodePtr item, void *opaque)
{
  struct grow *g = opaque;
  struct ec2_security_group *sg = grow_next (g);

  if (sg == NULL)
    return -ENOMEM;
  ec2_xml_copy (item, "groupId", sg->id, sizeof sg->id);
  ec2_xml_copy (item, "groupName", sg->name, sizeof sg->name);
  ec2_xml_copy (item, "vpcId", sg->vpc, sizeof sg->vpc);
  ec2_xml_copy (item, "groupDescription", sg->description,
                sizeof sg->description);
  if (read_rules (item, "ipPermissions", &sg->in, &sg->nr_in) < 0 ||
      read_rules (item, "ipPermissionsEgress", &sg->out, &sg->nr_out) < 0)
    return -ENOMEM;
  return ec2_xml_tags (item, &sg->tags);
}

int
ec2_describe_security_groups (struct ec2_client *c, const char *const *ids,
                              const struct ec2_filter *filters,
                              size_t nr_filters,
                              struct ec2_security_group **ret, size_t *ret_n,
                              struct v2v_error *err)
{
  CLEANUP_STRV char **p = NULL;
  struct grow g = { .size = sizeof (struct ec2_security_group) };
  int r;

  if (param_list (&p, "GroupId", ids) < 0 ||
      param_filters (&p, filters, nr_filters) < 0 ||
      param_page (&p, c, ids, 1000) < 0)
    return nomem (err);
  r = ec2_describe (c, "DescribeSecurityGroups", (const char *const *) p,
                    ITEMS ("securityGroupInfo"), on_security_group, &g, err);
  if (r < 0) {
    ec2_security_groups_free (g.v, g.n);
    return r == -ENOMEM ? nomem (err) : r;
  }
  *ret = g.v;
  *ret_n = g.n;
  return 0;
}

/* --- UEFI ------------------------------------------------------------- */

int
ec2_get_uefi_data (struct ec2_client *c, const char *id, char **ret,
                   struct v2v_error *err)
{
  const char *p[] = { "InstanceId", id, NULL };
  CLEANUP_XMLDOC xmlDocPtr doc = NULL;
  char *data;
  int r;

  if ((r = ec2_call (c, "GetInstanceUefiData", p, &doc, err)) < 0)
    return r;
  data = ec2_xml_text (xmlDocGetRootElement (doc), "uefiData");
  if (data && *data == '\0') {
    free (data);
    data = NULL;
  }
  *ret = data;
  return 0;
}
