/* `v2v-orchestrator inventory`: the source account's instances, volumes,
 * subnets, security groups and instance types, as EC2 lists them (its
 * own filters), one Describe call per page.  Each item becomes a JSON
 * object first; the text table is columns of those objects, so the two
 * outputs cannot disagree.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "inventory.h"
#include "json.h"
#include "strv.h"

#define S(s) json_object_new_string (s)
#define I(n) json_object_new_int64 (n)
#define ADD(o, k, v) json_object_object_add ((o), (k), (v))

static const char *const kind_names[NR_INV_KINDS] = {
  [INV_INSTANCES] = "instances",
  [INV_VOLUMES] = "volumes",
  [INV_SUBNETS] = "subnets",
  [INV_SECURITY_GROUPS] = "security-groups",
  [INV_INSTANCE_TYPES] = "instance-types",
};

int
inventory_kind_parse (const char *name)
{
  for (int k = 0; k < NR_INV_KINDS; k++)
    if (strcmp (name, kind_names[k]) == 0)
      return k;
  return -1;
}

const char *
inventory_kind_name (enum inventory_kind kind)
{
  return kind_names[kind];
}

/* The one alias: "state", which EC2 names differently for each kind. */
static const char *
filter_alias (enum inventory_kind kind, const char *name)
{
  if (strcmp (name, "state") == 0) {
    if (kind == INV_INSTANCES)
      return "instance-state-name";
    if (kind == INV_VOLUMES)
      return "status";
  }
  return name;
}

int
inventory_filter_parse (enum inventory_kind kind, const char *arg,
                        struct ec2_filter *ret, struct v2v_error *err)
{
  const char *eq = strchr (arg, '=');
  CLEANUP_FREE char *name = NULL, *values = NULL;
  CLEANUP_STRV char **v = NULL;
  char *save = NULL;

  if (eq == NULL || eq == arg || eq[1] == '\0')
    return v2v_error_set (err, -EINVAL, "--filter '%s': want NAME=VALUE "
                          "(EC2's filter names, such as "
                          "instance-state-name=stopped or tag:env=prod)",
                          arg);
  name = strndup (arg, eq - arg);
  values = strdup (eq + 1);
  if (name == NULL || values == NULL)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  /* VALUE[,VALUE...]: any of them matches, as EC2 takes a filter's
   * values.
   */
  for (char *t = strtok_r (values, ",", &save); t;
       t = strtok_r (NULL, ",", &save))
    if (strv_add (&v, t) < 0)
      return v2v_error_set (err, -ENOMEM, "out of memory");
  if (v == NULL)
    return v2v_error_set (err, -EINVAL, "--filter '%s': no value", arg);
  ret->name = strdup (filter_alias (kind, name));
  if (ret->name == NULL)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  ret->values = (const char *const *) TAKE_PTR (v);
  return 0;
}

void
inventory_filters_free (struct ec2_filter *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++) {
    free ((char *) v[i].name);
    strv_free ((char **) v[i].values);
  }
}

/* --- Items as JSON objects ------------------------------------------- */

static struct json_object *
tags_object (char *const *tags)
{
  struct json_object *o = json_object_new_object ();

  for (size_t i = 0; tags && tags[i] && tags[i + 1]; i += 2)
    ADD (o, tags[i], S (tags[i + 1]));
  return o;
}

static const char *
name_tag (char *const *tags)
{
  const char *n = ec2_tag (tags, "Name");

  return n ? n : "";
}

static struct json_object *
strv_array (char *const *v)
{
  struct json_object *a = json_object_new_array ();

  for (size_t i = 0; v && v[i]; i++)
    json_object_array_add (a, S (v[i]));
  return a;
}

static struct json_object *
instance_json (const struct ec2_instance *in)
{
  struct json_object *o = json_object_new_object ();
  struct json_object *cpu = json_object_new_object ();
  struct json_object *vols = json_object_new_array ();
  struct json_object *nics = json_object_new_array ();

  ADD (o, "id", S (in->id));
  ADD (o, "name", S (name_tag (in->tags)));
  ADD (o, "state", S (in->state));
  ADD (o, "type", S (in->type));
  ADD (o, "availabilityZone", S (in->az));
  ADD (o, "bootMode", S (in->boot_mode));
  ADD (cpu, "cores", I (in->core_count));
  ADD (cpu, "threadsPerCore", I (in->threads_per_core));
  ADD (o, "cpuOptions", cpu);
  ADD (o, "rootDevice", S (in->root_device));
  for (size_t i = 0; i < in->nr_disks; i++) {
    struct json_object *d = json_object_new_object ();
    ADD (d, "device", S (in->disks[i].device));
    ADD (d, "volumeId", S (in->disks[i].volume_id));
    json_object_array_add (vols, d);
  }
  ADD (o, "volumes", vols);
  for (size_t i = 0; i < in->nr_enis; i++) {
    struct json_object *n = json_object_new_object ();
    ADD (n, "deviceIndex", I (in->enis[i].device_index));
    ADD (n, "macAddress", S (in->enis[i].mac));
    ADD (n, "subnetId", S (in->enis[i].subnet));
    json_object_array_add (nics, n);
  }
  ADD (o, "networkInterfaces", nics);
  ADD (o, "securityGroups", strv_array (in->security_groups));
  ADD (o, "tags", tags_object (in->tags));
  return o;
}

static struct json_object *
volume_json (const struct ec2_volume *v)
{
  struct json_object *o = json_object_new_object ();

  ADD (o, "id", S (v->id));
  ADD (o, "name", S (name_tag (v->tags)));
  ADD (o, "state", S (v->state));
  ADD (o, "type", S (v->type));
  ADD (o, "sizeGiB", I (v->size_gib));
  ADD (o, "iops", I (v->iops));
  ADD (o, "throughput", I (v->throughput));
  ADD (o, "availabilityZone", S (v->az));
  ADD (o, "encrypted", json_object_new_boolean (v->encrypted));
  ADD (o, "snapshotId", S (v->snapshot_id));
  ADD (o, "tags", tags_object (v->tags));
  return o;
}

static struct json_object *
subnet_json (const struct ec2_subnet *s)
{
  struct json_object *o = json_object_new_object ();

  ADD (o, "id", S (s->id));
  ADD (o, "name", S (name_tag (s->tags)));
  ADD (o, "vpcId", S (s->vpc));
  ADD (o, "availabilityZone", S (s->az));
  ADD (o, "cidrBlock", S (s->cidr));
  ADD (o, "state", S (s->state));
  ADD (o, "availableIpAddresses", I (s->available_ips));
  ADD (o, "defaultForAz", json_object_new_boolean (s->default_for_az));
  ADD (o, "tags", tags_object (s->tags));
  return o;
}

static const char *const peer_keys[] = {
  [EC2_PEER_CIDR] = "cidr", [EC2_PEER_CIDR6] = "ipv6Cidr",
  [EC2_PEER_GROUP] = "securityGroup", [EC2_PEER_PREFIX_LIST] = "prefixList",
};

static struct json_object *
rules_json (const struct ec2_sg_rule *r, size_t n)
{
  struct json_object *a = json_object_new_array ();

  for (size_t i = 0; i < n; i++) {
    struct json_object *o = json_object_new_object ();
    struct json_object *peers = json_object_new_array ();
    ADD (o, "protocol", S (r[i].protocol));
    if (r[i].has_ports) {
      ADD (o, "fromPort", I (r[i].from_port));
      ADD (o, "toPort", I (r[i].to_port));
    }
    for (size_t j = 0; j < r[i].nr_peers; j++) {
      struct json_object *p = json_object_new_object ();
      ADD (p, peer_keys[r[i].peers[j].kind], S (r[i].peers[j].value));
      json_object_array_add (peers, p);
    }
    ADD (o, "peers", peers);
    json_object_array_add (a, o);
  }
  return a;
}

static struct json_object *
security_group_json (const struct ec2_security_group *g)
{
  struct json_object *o = json_object_new_object ();

  ADD (o, "id", S (g->id));
  ADD (o, "name", S (g->name));
  ADD (o, "vpcId", S (g->vpc));
  ADD (o, "description", S (g->description));
  ADD (o, "inbound", rules_json (g->in, g->nr_in));
  ADD (o, "outbound", rules_json (g->out, g->nr_out));
  ADD (o, "tags", tags_object (g->tags));
  return o;
}

static struct json_object *
instance_type_json (const struct ec2_instance_type *t)
{
  struct json_object *o = json_object_new_object ();

  ADD (o, "type", S (t->name));
  ADD (o, "vcpus", I (t->vcpus));
  ADD (o, "cores", I (t->default_cores));
  ADD (o, "threadsPerCore", I (t->default_threads_per_core));
  ADD (o, "memoryMiB", I (t->memory_mib));
  ADD (o, "instanceStoreGB", I (t->instance_store_gb));
  return o;
}

/* --- The text table -------------------------------------------------- */

/* A column: its header and how a cell is made from an item's object:
 * the member KEY as text, or FN.
 */
struct column {
  const char *header;
  const char *key;
  void (*fn) (struct json_object *item, char *out, size_t len);
};

static void
cell_cpu (struct json_object *item, char *out, size_t len)
{
  int64_t c = 0, t = 0;

  json_get_int64 (item, "cpuOptions.cores", &c, NULL);
  json_get_int64 (item, "cpuOptions.threadsPerCore", &t, NULL);
  snprintf (out, len, "%" PRIi64 "x%" PRIi64, c, t);
}

static void
cell_count (struct json_object *a, char *out, size_t len)
{
  snprintf (out, len, "%zu", a ? json_object_array_length (a) : 0);
}

static void
cell_volumes (struct json_object *item, char *out, size_t len)
{
  cell_count (json_object_object_get (item, "volumes"), out, len);
}

static void
cell_inbound (struct json_object *item, char *out, size_t len)
{
  cell_count (json_object_object_get (item, "inbound"), out, len);
}

static void
cell_outbound (struct json_object *item, char *out, size_t len)
{
  cell_count (json_object_object_get (item, "outbound"), out, len);
}

/* Each distinct subnet of the NICs, in device-index order. */
static void
cell_subnets (struct json_object *item, char *out, size_t len)
{
  struct json_object *nics = json_object_object_get (item,
                                                     "networkInterfaces");
  size_t used = 0;

  out[0] = '\0';
  for (int idx = 0; idx < 64; idx++)
    for (size_t i = 0; nics && i < json_object_array_length (nics); i++) {
      struct json_object *n = json_object_array_get_idx (nics, i);
      const char *sub = NULL;
      int64_t di = -1;
      json_get_int64 (n, "deviceIndex", &di, NULL);
      json_get_string (n, "subnetId", &sub, NULL);
      if (di != idx || sub == NULL || strstr (out, sub))
        continue;
      used += snprintf (out + used, used < len ? len - used : 0, "%s%s",
                        used ? "," : "", sub);
    }
}

static void
cell_groups (struct json_object *item, char *out, size_t len)
{
  struct json_object *g = json_object_object_get (item, "securityGroups");
  size_t used = 0;

  out[0] = '\0';
  for (size_t i = 0; g && i < json_object_array_length (g); i++)
    used += snprintf (out + used, used < len ? len - used : 0, "%s%s",
                      i ? "," : "",
                      json_object_get_string (json_object_array_get_idx (g,
                                                                         i)));
}

#define COLUMNS_MAX 10

static const struct column columns[NR_INV_KINDS][COLUMNS_MAX] = {
  [INV_INSTANCES] = {
    { "ID", "id" }, { "NAME", "name" }, { "STATE", "state" },
    { "TYPE", "type" }, { "AZ", "availabilityZone" },
    { "CPU", NULL, cell_cpu }, { "BOOT", "bootMode" },
    { "VOLUMES", NULL, cell_volumes }, { "SUBNETS", NULL, cell_subnets },
    { "SECURITY-GROUPS", NULL, cell_groups },
  },
  [INV_VOLUMES] = {
    { "ID", "id" }, { "NAME", "name" }, { "STATE", "state" },
    { "TYPE", "type" }, { "SIZE-GIB", "sizeGiB" }, { "IOPS", "iops" },
    { "AZ", "availabilityZone" }, { "ENCRYPTED", "encrypted" },
  },
  [INV_SUBNETS] = {
    { "ID", "id" }, { "NAME", "name" }, { "VPC", "vpcId" },
    { "AZ", "availabilityZone" }, { "CIDR", "cidrBlock" },
    { "STATE", "state" }, { "FREE-IPS", "availableIpAddresses" },
  },
  [INV_SECURITY_GROUPS] = {
    { "ID", "id" }, { "NAME", "name" }, { "VPC", "vpcId" },
    { "INBOUND", NULL, cell_inbound }, { "OUTBOUND", NULL, cell_outbound },
    { "DESCRIPTION", "description" },
  },
  [INV_INSTANCE_TYPES] = {
    { "TYPE", "type" }, { "VCPUS", "vcpus" }, { "CORES", "cores" },
    { "THREADS", "threadsPerCore" }, { "MEMORY-MIB", "memoryMiB" },
    { "INSTANCE-STORE-GB", "instanceStoreGB" },
  },
};

static void
cell (const struct column *c, struct json_object *item, char *out,
      size_t len)
{
  struct json_object *v;

  if (c->fn) {
    c->fn (item, out, len);
    return;
  }
  v = json_object_object_get (item, c->key);
  snprintf (out, len, "%s", v ? json_object_get_string (v) : "");
  /* A cell is one line whatever a tag holds. */
  for (char *p = out; *p; p++)
    if (*p == '\n' || *p == '\t')
      *p = ' ';
}

#define CELL_MAX 256

/* Padded to WIDTH and two spaces, or, the last of a row, as it is. */
static void
print_cell (FILE *out, const char *text, size_t width, bool last)
{
  if (last)
    fprintf (out, "%s\n", text);
  else
    fprintf (out, "%-*s  ", (int) width, text);
}

static void
print_table (enum inventory_kind kind, struct json_object *items, FILE *out)
{
  const struct column *cols = columns[kind];
  size_t width[COLUMNS_MAX] = { 0 }, nc = 0;
  size_t n = json_object_array_length (items);
  char buf[CELL_MAX];

  while (nc < COLUMNS_MAX && cols[nc].header)
    nc++;
  for (size_t c = 0; c < nc; c++) {
    width[c] = strlen (cols[c].header);
    for (size_t i = 0; i < n; i++) {
      cell (&cols[c], json_object_array_get_idx (items, i), buf, sizeof buf);
      if (strlen (buf) > width[c])
        width[c] = strlen (buf);
    }
  }
  for (size_t c = 0; c < nc; c++)
    print_cell (out, cols[c].header, width[c], c + 1 == nc);
  for (size_t i = 0; i < n; i++)
    for (size_t c = 0; c < nc; c++) {
      cell (&cols[c], json_object_array_get_idx (items, i), buf, sizeof buf);
      print_cell (out, buf, width[c], c + 1 == nc);
    }
}

/* --- Listing --------------------------------------------------------- */

static int
list_items (struct ec2_client *c, enum inventory_kind kind,
            const struct ec2_filter *f, size_t nf, struct json_object *items,
            struct v2v_error *err)
{
  size_t n = 0;
  int r;

  switch (kind) {
  case INV_INSTANCES: {
    struct ec2_instance *v = NULL;
    if ((r = ec2_describe_instances (c, NULL, f, nf, &v, &n, err)) < 0)
      return r;
    for (size_t i = 0; i < n; i++)
      json_object_array_add (items, instance_json (&v[i]));
    ec2_instances_free (v, n);
    break;
  }
  case INV_VOLUMES: {
    struct ec2_volume *v = NULL;
    if ((r = ec2_describe_volumes (c, NULL, f, nf, &v, &n, err)) < 0)
      return r;
    for (size_t i = 0; i < n; i++)
      json_object_array_add (items, volume_json (&v[i]));
    ec2_volumes_free (v, n);
    break;
  }
  case INV_SUBNETS: {
    struct ec2_subnet *v = NULL;
    if ((r = ec2_describe_subnets (c, NULL, f, nf, &v, &n, err)) < 0)
      return r;
    for (size_t i = 0; i < n; i++)
      json_object_array_add (items, subnet_json (&v[i]));
    ec2_subnets_free (v, n);
    break;
  }
  case INV_SECURITY_GROUPS: {
    struct ec2_security_group *v = NULL;
    if ((r = ec2_describe_security_groups (c, NULL, f, nf, &v, &n, err)) < 0)
      return r;
    for (size_t i = 0; i < n; i++)
      json_object_array_add (items, security_group_json (&v[i]));
    ec2_security_groups_free (v, n);
    break;
  }
  case INV_INSTANCE_TYPES: {
    struct ec2_instance_type *v = NULL;
    if ((r = ec2_describe_instance_types (c, NULL, f, nf, &v, &n, err)) < 0)
      return r;
    for (size_t i = 0; i < n; i++)
      json_object_array_add (items, instance_type_json (&v[i]));
    free (v);
    break;
  }
  default:
    return v2v_error_set (err, -EINVAL, "no such inventory kind");
  }
  return 0;
}

int
inventory_list (struct ec2_client *c, enum inventory_kind kind,
                const struct ec2_filter *filters, size_t nr_filters,
                bool json, FILE *out, struct v2v_error *err)
{
  CLEANUP_JSON struct json_object *items = json_object_new_array ();
  int r;

  if (items == NULL)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  if ((r = list_items (c, kind, filters, nr_filters, items, err)) < 0)
    return r;
  if (json)
    fprintf (out, "%s\n", json_object_to_json_string_ext (
               items, JSON_C_TO_STRING_PRETTY |
               JSON_C_TO_STRING_NOSLASHESCAPE));
  else
    print_table (kind, items, out);
  return 0;
}
