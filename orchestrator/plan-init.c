/* `v2v-orchestrator plan init`: a plan written from what EC2 says about
 * the instances selected (by id or by tags): every instance, its volume
 * types in the storage map, its subnets in the network map.  The caller
 * then checks it with plan.c, as `migrate` would.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "inventory.h"
#include "json.h"
#include "log.h"
#include "orch.h"
#include "strv.h"

#define S(s) json_object_new_string (s)
#define ADD(o, k, v) json_object_object_add ((o), (k), (v))

/* The instance's Name tag as a VM name, if it makes a DNS label. */
static bool
vm_name_from_tag (const char *tag, char *out, size_t len)
{
  size_t n = tag ? strlen (tag) : 0;

  if (n == 0 || n > 63 || n >= len)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = (char) tolower ((unsigned char) tag[i]);
    if (!(islower ((unsigned char) c) || isdigit ((unsigned char) c) ||
          c == '-'))
      return false;
    out[i] = c;
  }
  out[n] = '\0';
  return out[0] != '-' && out[n - 1] != '-';
}

static int
select_instances (struct ec2_client *c, const struct plan_init_options *o,
                  struct ec2_instance **ret, size_t *ret_n,
                  struct v2v_error *err)
{
  struct ec2_filter f[1 + 32];
  const char *values[1 + 32][2];
  CLEANUP_STRV char **names = NULL;
  size_t nf = 0;
  int r;

  if (o->instances && o->instances[0]) {
    r = ec2_describe_instances (c, o->instances, NULL, 0, ret, ret_n, err);
    if (r < 0)
      return r;
    for (size_t i = 0; i < *ret_n; i++)
      if (!strv_contains ((char *const *) orch_migratable_states,
                          (*ret)[i].state))
        return v2v_error_set (err, -EINVAL, "instance %s is %s: it cannot "
                              "be migrated", (*ret)[i].id, (*ret)[i].state);
    return 0;
  }
  /* By tags, as vmSelector selects: only what can be migrated. */
  f[nf++] = (struct ec2_filter) { "instance-state-name",
                                  orch_migratable_states };
  for (size_t i = 0; o->selector[i] && o->selector[i + 1] && nf < 1 + 32;
       i += 2) {
    char *name;
    if (asprintf (&name, "tag:%s", o->selector[i]) < 0 ||
        strv_push (&names, name) < 0)
      return v2v_error_set (err, -ENOMEM, "out of memory");
    values[nf][0] = o->selector[i + 1];
    values[nf][1] = NULL;
    f[nf].name = name;
    f[nf].values = values[nf];
    nf++;
  }
  r = ec2_describe_instances (c, NULL, f, nf, ret, ret_n, err);
  if (r == 0 && *ret_n == 0)
    return v2v_error_set (err, -ENOENT, "the selector matches no instance "
                          "that can be migrated in %s", o->region);
  return r;
}

/* Volume types -> StorageClass: O's one, else the type's own name (what
 * the EBS CSI driver's StorageClasses are usually called): edit as need
 * be.
 */
static int
storage_map (struct ec2_client *c, const struct plan_init_options *o,
             const struct ec2_instance *v, size_t n, struct json_object *plan,
             struct v2v_error *err)
{
  CLEANUP_STRV char **ids = NULL;
  struct ec2_volume *vols = NULL;
  size_t nv = 0;
  struct json_object *map = json_object_new_object ();
  int r;

  ADD (plan, "storageMap", map);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < v[i].nr_disks; j++)
      if (strv_add_unique (&ids, v[i].disks[j].volume_id) < 0)
        return v2v_error_set (err, -ENOMEM, "out of memory");
  if (ids == NULL)
    return 0;
  if ((r = ec2_describe_volumes (c, (const char *const *) ids, NULL, 0, &vols,
                                 &nv, err)) < 0)
    return r;
  for (size_t i = 0; i < nv; i++)
    if (!json_object_object_get_ex (map, vols[i].type, NULL))
      ADD (map, vols[i].type,
           S (o->storage_class ? o->storage_class : vols[i].type));
  ec2_volumes_free (vols, nv);
  return 0;
}

/* Each subnet the NICs are in.  A VM has one pod network interface at
 * most, and the plan maps at most one subnet to it: the subnet of the
 * first instance's primary NIC (device index 0).  The others are
 * `ignored` with a warning each, to be mapped to a Multus network.
 */
static void
network_map (const struct ec2_instance *v, size_t n, struct json_object *plan)
{
  struct json_object *map = json_object_new_object ();
  const char *pod = NULL;

  for (size_t i = 0; i < n && pod == NULL; i++)
    for (size_t j = 0; j < v[i].nr_enis; j++)
      if (v[i].enis[j].device_index == 0 && v[i].enis[j].subnet[0]) {
        pod = v[i].enis[j].subnet;
        break;
      }
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < v[i].nr_enis; j++) {
      const char *sub = v[i].enis[j].subnet;
      struct json_object *t;
      if (sub[0] == '\0' || json_object_object_get_ex (map, sub, NULL))
        continue;
      t = json_object_new_object ();
      if (pod && strcmp (sub, pod) == 0)
        ADD (t, "type", S ("pod"));
      else {
        ADD (t, "type", S ("ignored"));
        log_warn ("%s (a NIC of %s): mapped to \"ignored\", as only one "
                  "subnet can be the pod network: map it to {\"type\": "
                  "\"multus\", \"name\": \"NAMESPACE/NETWORK\"} to keep "
                  "that NIC", sub, v[i].id);
      }
      ADD (map, sub, t);
    }
  ADD (plan, "networkMap", map);
}

int
plan_init_build (struct ec2_client *c, const struct plan_init_options *o,
                 char **ret, struct v2v_error *err)
{
  CLEANUP_JSON struct json_object *plan = json_object_new_object ();
  struct json_object *vms = json_object_new_array ();
  struct ec2_instance *v = NULL;
  CLEANUP_STRV char **names = NULL;
  size_t n = 0;
  int r;

  if ((r = select_instances (c, o, &v, &n, err)) < 0)
    goto out;
  ADD (plan, "name", S (o->name));
  ADD (plan, "region", S (o->region));
  ADD (plan, "targetAZ", S (o->target_az));
  ADD (plan, "targetNamespace", S (o->namespace));
  for (size_t i = 0; i < n; i++) {
    struct json_object *vm = json_object_new_object ();
    char name[64];
    ADD (vm, "id", S (v[i].id));
    /* The Name tag as the VM's name, once: a second instance of the
     * same name keeps its id.
     */
    if (vm_name_from_tag (ec2_tag (v[i].tags, "Name"), name, sizeof name) &&
        !strv_contains (names, name)) {
      if (strv_add (&names, name) < 0) {
        r = v2v_error_set (err, -ENOMEM, "out of memory");
        goto out;
      }
      ADD (vm, "newName", S (name));
    }
    json_object_array_add (vms, vm);
  }
  ADD (plan, "vms", json_object_get (vms));
  if ((r = storage_map (c, o, v, n, plan, err)) < 0)
    goto out;
  network_map (v, n, plan);
  if (o->conversion_image)
    ADD (plan, "conversionImage", S (o->conversion_image));
  *ret = strdup (json_object_to_json_string_ext (
                   plan, JSON_C_TO_STRING_PRETTY |
                   JSON_C_TO_STRING_NOSLASHESCAPE));
  if (*ret == NULL)
    r = v2v_error_set (err, -ENOMEM, "out of memory");
out:
  json_object_put (vms);
  ec2_instances_free (v, n);
  return r;
}
