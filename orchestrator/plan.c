/* Plan parsing and validation; see plan.h. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "plan.h"

#define PLAN_MAX_BYTES (1024 * 1024)

/* Every problem, one a line. */
struct problems {
  struct buf b;
  unsigned n;
};

static void __attribute__ ((format (printf, 2, 3)))
problem (struct problems *pr, const char *fmt, ...)
{
  va_list ap;
  char line[512];

  va_start (ap, fmt);
  vsnprintf (line, sizeof line, fmt, ap);
  va_end (ap);
  buf_printf (&pr->b, "\n  - %s", line);
  pr->n++;
}

static bool
dns_label (const char *s, size_t max)
{
  size_t n = strlen (s);

  if (n == 0 || n > max || !isalnum ((unsigned char) s[0]) ||
      !isalnum ((unsigned char) s[n - 1]))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!(islower ((unsigned char) s[i]) || isdigit ((unsigned char) s[i]) ||
          s[i] == '-'))
      return false;
  return true;
}

static bool
aws_id (const char *s, const char *prefix)
{
  size_t pl = strlen (prefix), n = strlen (s);

  if (strncmp (s, prefix, pl) != 0 || n < pl + 8 || n > pl + 17)
    return false;
  for (size_t i = pl; i < n; i++)
    if (!isxdigit ((unsigned char) s[i]) || isupper ((unsigned char) s[i]))
      return false;
  return true;
}

/* A string member KEY of O: NULL if absent; a problem if not a string. */
static char *
str (struct json_object *o, const char *key, bool required,
     struct problems *pr, const char *where)
{
  struct json_object *v;

  if (!json_object_object_get_ex (o, key, &v) || v == NULL) {
    if (required)
      problem (pr, "%s%s is required", where, key);
    return NULL;
  }
  if (!json_object_is_type (v, json_type_string) ||
      json_object_get_string_len (v) == 0) {
    problem (pr, "%s%s must be a non-empty string", where, key);
    return NULL;
  }
  return strdup (json_object_get_string (v));
}

static bool
boolean (struct json_object *o, const char *key, bool dflt,
         struct problems *pr)
{
  struct json_object *v;

  if (!json_object_object_get_ex (o, key, &v) || v == NULL)
    return dflt;
  if (!json_object_is_type (v, json_type_boolean)) {
    problem (pr, "%s must be true or false", key);
    return dflt;
  }
  return json_object_get_boolean (v);
}

static double
number (struct json_object *o, const char *key, double dflt, double min,
        double max, struct problems *pr)
{
  struct json_object *v;
  double d;

  if (!json_object_object_get_ex (o, key, &v) || v == NULL)
    return dflt;
  if (!json_object_is_type (v, json_type_int) &&
      !json_object_is_type (v, json_type_double)) {
    problem (pr, "%s must be a number", key);
    return dflt;
  }
  d = json_object_get_double (v);
  if (d < min || d > max) {
    problem (pr, "%s must be between %g and %g", key, min, max);
    return dflt;
  }
  return d;
}

static void
credentials (struct json_object *o, const char *key,
             struct plan_credentials *c, bool *present, struct problems *pr)
{
  struct json_object *v;
  char where[64];

  if (!json_object_object_get_ex (o, key, &v) || v == NULL)
    return;
  if (!json_object_is_type (v, json_type_object)) {
    problem (pr, "%s must be an object", key);
    return;
  }
  snprintf (where, sizeof where, "%s.", key);
  c->secret_dir = str (v, "secretDir", false, pr, where);
  c->profile = str (v, "profile", false, pr, where);
  c->account_id = str (v, "accountId", false, pr, where);
  if (c->secret_dir == NULL && c->profile == NULL)
    problem (pr, "%s needs secretDir (a mounted Secret) or profile", key);
  if (present)
    *present = true;
}

static const char *const ebs_types[] = {
  "gp2", "gp3", "io1", "io2", "st1", "sc1", "standard", NULL
};

static void
parse (struct json_object *root, struct plan *p, struct problems *pr)
{
  struct json_object *v, *arr;

  p->name = str (root, "name", true, pr, "");
  if (p->name && !dns_label (p->name, 40))
    problem (pr, "name '%s' must be a DNS label of at most 40 characters "
             "(lower case letters, digits, '-'): resources are named after "
             "it", p->name);
  p->region = str (root, "region", true, pr, "");
  p->target_az = str (root, "targetAZ", true, pr, "");
  if (p->region && p->target_az &&
      strncmp (p->target_az, p->region, strlen (p->region)) != 0)
    problem (pr, "targetAZ '%s' is not in region '%s'", p->target_az,
             p->region);
  p->target_namespace = str (root, "targetNamespace", true, pr, "");
  if (p->target_namespace && !dns_label (p->target_namespace, 63))
    problem (pr, "targetNamespace '%s' is not a valid namespace name",
             p->target_namespace);
  p->conversion_image = str (root, "conversionImage", false, pr, "");
  p->agent_service_account = str (root, "agentServiceAccount", false, pr, "");
  if (p->agent_service_account == NULL)
    p->agent_service_account = strdup ("v2v-agent");

  /* VMs: by id, or by tags. */
  if (json_object_object_get_ex (root, "vms", &arr) && arr) {
    if (!json_object_is_type (arr, json_type_array) ||
        json_object_array_length (arr) == 0)
      problem (pr, "vms must be a non-empty array");
    else {
      size_t n = json_object_array_length (arr);
      p->vms = calloc (n, sizeof *p->vms);
      for (size_t i = 0; p->vms && i < n; i++) {
        char where[32];
        v = json_object_array_get_idx (arr, i);
        snprintf (where, sizeof where, "vms[%zu].", i);
        if (!json_object_is_type (v, json_type_object)) {
          problem (pr, "vms[%zu] must be an object {\"id\": \"i-...\"}", i);
          continue;
        }
        struct plan_vm *vm = &p->vms[p->nr_vms];
        vm->id = str (v, "id", true, pr, where);
        vm->new_name = str (v, "newName", false, pr, where);
        if (vm->id && !aws_id (vm->id, "i-"))
          problem (pr, "vms[%zu].id '%s' is not an instance id (i-...)",
                   i, vm->id);
        if (vm->new_name && !dns_label (vm->new_name, 63))
          problem (pr, "vms[%zu].newName '%s' is not a valid VM name", i,
                   vm->new_name);
        for (size_t j = 0; vm->id && j < p->nr_vms; j++)
          if (p->vms[j].id && strcmp (p->vms[j].id, vm->id) == 0)
            problem (pr, "vms[%zu].id '%s' is listed twice", i, vm->id);
        p->nr_vms++;
      }
    }
  }
  if (json_object_object_get_ex (root, "vmSelector", &v) && v) {
    struct json_object *tags;
    if (!json_object_object_get_ex (v, "tags", &tags) ||
        !json_object_is_type (tags, json_type_object) ||
        json_object_object_length (tags) == 0)
      problem (pr, "vmSelector.tags must be a non-empty object of tag "
               "key: value");
    else {
      size_t n = 0;
      p->selector_tags = calloc (2 * json_object_object_length (tags) + 1,
                                 sizeof (char *));
      json_object_object_foreach (tags, k, tv) {
        if (!json_object_is_type (tv, json_type_string)) {
          problem (pr, "vmSelector.tags.%s must be a string", k);
          continue;
        }
        p->selector_tags[n++] = strdup (k);
        p->selector_tags[n++] = strdup (json_object_get_string (tv));
      }
    }
  }
  if (p->nr_vms == 0 && p->selector_tags == NULL)
    problem (pr, "the plan selects no VM: give vms (instance ids) or "
             "vmSelector.tags");

  /* storageMap: EBS type -> StorageClass. */
  if (!json_object_object_get_ex (root, "storageMap", &v) || v == NULL ||
      !json_object_is_type (v, json_type_object) ||
      json_object_object_length (v) == 0)
    problem (pr, "storageMap is required: an object of EBS volume type "
             "(gp3, io2, ...) to StorageClass");
  else {
    p->storage = calloc (json_object_object_length (v), sizeof *p->storage);
    json_object_object_foreach (v, k, sv) {
      size_t i;
      for (i = 0; ebs_types[i]; i++)
        if (strcmp (k, ebs_types[i]) == 0)
          break;
      if (ebs_types[i] == NULL)
        problem (pr, "storageMap: '%s' is not an EBS volume type", k);
      if (!json_object_is_type (sv, json_type_string) ||
          !dns_label (json_object_get_string (sv), 253)) {
        problem (pr, "storageMap.%s must name a StorageClass", k);
        continue;
      }
      p->storage[p->nr_storage].ebs_type = strdup (k);
      p->storage[p->nr_storage].storage_class =
        strdup (json_object_get_string (sv));
      p->nr_storage++;
    }
  }

  /* networkMap: subnet -> pod | multus | ignored. */
  if (json_object_object_get_ex (root, "networkMap", &v) && v) {
    if (!json_object_is_type (v, json_type_object))
      problem (pr, "networkMap must be an object of subnet id to target");
    else {
      p->nets = calloc (json_object_object_length (v) + 1, sizeof *p->nets);
      json_object_object_foreach (v, k, nv) {
        struct plan_net *n = &p->nets[p->nr_nets];
        const char *type = NULL;
        if (!aws_id (k, "subnet-"))
          problem (pr, "networkMap: '%s' is not a subnet id", k);
        if (json_object_is_type (nv, json_type_object))
          json_get_string (nv, "type", &type, NULL);
        if (type == NULL) {
          problem (pr, "networkMap.%s needs {\"type\": \"pod\"|\"multus\"|"
                   "\"ignored\"}", k);
          continue;
        }
        n->subnet = strdup (k);
        if (strcmp (type, "pod") == 0)
          n->target = NET_POD;
        else if (strcmp (type, "ignored") == 0)
          n->target = NET_IGNORED;
        else if (strcmp (type, "multus") == 0) {
          const char *name = NULL;
          n->target = NET_MULTUS;
          json_get_string (nv, "name", &name, NULL);
          if (name == NULL || strchr (name, '/') == NULL)
            problem (pr, "networkMap.%s: multus needs \"name\": "
                     "\"namespace/network\"", k);
          else
            n->multus = strdup (name);
        }
        else
          problem (pr, "networkMap.%s.type '%s' must be pod, multus or "
                   "ignored", k, type);
        p->nr_nets++;
      }
      unsigned pods = 0;
      for (size_t i = 0; i < p->nr_nets; i++)
        pods += p->nets[i].target == NET_POD;
      if (pods > 1)
        problem (pr, "networkMap maps %u subnets to the pod network; a VM "
                 "has one pod network interface at most", pods);
    }
  }

  p->skip_guest_conversion = boolean (root, "skipGuestConversion", false, pr);
  p->use_compatibility_mode = boolean (root, "useCompatibilityMode", false, pr);
  p->install_legacy_drivers = boolean (root, "installLegacyDrivers", false, pr);
  p->delete_guest_conversion_pod =
    boolean (root, "deleteGuestConversionPod", true, pr);
  p->request_kvm = boolean (root, "requestKVM", true, pr);
  p->secure_boot = boolean (root, "secureBoot", false, pr);
  p->pre_snapshot = boolean (root, "preSnapshot", true, pr);
  p->max_in_flight = number (root, "maxInFlight", 10, 1, 1000, pr);
  p->poll_interval_s = number (root, "pollIntervalSeconds", 5, 0.05, 600, pr);
  p->job_timeout_s = number (root, "jobTimeoutSeconds", 4 * 3600, 1,
                             7 * 86400, pr);
  p->verify_timeout_s = number (root, "verifyTimeoutSeconds", 900, 10,
                                86400, pr);
  {
    CLEANUP_FREE char *u = str (root, "onUnhealthy", false, pr, "");
    p->keep_unhealthy = u && strcmp (u, "keep") == 0;
    if (u && !p->keep_unhealthy && strcmp (u, "rollback") != 0)
      problem (pr, "onUnhealthy '%s' must be rollback (the default) or keep",
               u);
  }
  if (!p->skip_guest_conversion && p->conversion_image == NULL)
    problem (pr, "conversionImage is required unless skipGuestConversion");
  credentials (root, "sourceCredentials", &p->source_creds, NULL, pr);
  credentials (root, "targetCredentials", &p->target_creds, &p->cross_account,
               pr);
  if (p->cross_account && (p->target_creds.account_id == NULL ||
                           strlen (p->target_creds.account_id) != 12))
    problem (pr, "targetCredentials.accountId (12 digits) is required: "
             "snapshots are shared with that account");

  /* Anything else is a typo: say so rather than ignore it. */
  static const char *const known[] = {
    "name", "region", "targetAZ", "targetNamespace", "vms", "vmSelector",
    "storageMap", "networkMap", "skipGuestConversion", "useCompatibilityMode",
    "installLegacyDrivers", "deleteGuestConversionPod", "maxInFlight",
    "conversionImage", "agentServiceAccount", "requestKVM", "secureBoot",
    "sourceCredentials", "targetCredentials", "pollIntervalSeconds",
    "jobTimeoutSeconds", "preSnapshot", "verifyTimeoutSeconds",
    "onUnhealthy", NULL
  };
  json_object_object_foreach (root, key, unused) {
    size_t i;
    (void) unused;
    for (i = 0; known[i]; i++)
      if (strcmp (key, known[i]) == 0)
        break;
    if (known[i] == NULL)
      problem (pr, "unknown field '%s'", key);
  }
}

int
plan_parse (const char *data, size_t len, struct plan **ret,
            struct v2v_error *err)
{
  CLEANUP_JSON struct json_object *root = NULL;
  struct problems pr = { .n = 0 };
  struct plan *p;
  int r;

  if (len > PLAN_MAX_BYTES)
    return v2v_error_set (err, -E2BIG, "larger than %d bytes",
                          PLAN_MAX_BYTES);
  r = json_parse (data, len, 0, &root, err);
  if (r < 0)
    return r;
  if (!json_object_is_type (root, json_type_object))
    return v2v_error_set (err, -EINVAL, "not a JSON object");

  if ((p = calloc (1, sizeof *p)) == NULL)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  buf_init (&pr.b, 64 * 1024);
  parse (root, p, &pr);
  if (pr.n > 0) {
    v2v_error_set (err, -EINVAL, "%u problem(s):%s", pr.n, pr.b.data);
    buf_free (&pr.b);
    plan_free (p);
    return -EINVAL;
  }
  buf_free (&pr.b);
  *ret = p;
  return 0;
}

int
plan_load (const char *path, struct plan **ret, struct v2v_error *err)
{
  CLEANUP_FCLOSE FILE *fp = fopen (path, "re");
  struct buf text;
  char chunk[8192];
  size_t n;
  int r;

  if (fp == NULL)
    return v2v_error_errno (err, -errno, "plan %s", path);
  buf_init (&text, PLAN_MAX_BYTES);
  while ((n = fread (chunk, 1, sizeof chunk, fp)) > 0)
    if (buf_append (&text, chunk, n) < 0) {
      buf_free (&text);
      return v2v_error_set (err, -E2BIG, "plan %s: larger than %d bytes",
                            path, PLAN_MAX_BYTES);
    }
  r = plan_parse (text.data ? text.data : "", text.len, ret, err);
  buf_free (&text);
  if (r < 0)
    v2v_error_prefix (err, "plan %s", path);
  return r;
}

static void
creds_free (struct plan_credentials *c)
{
  free (c->secret_dir);
  free (c->profile);
  free (c->account_id);
}

void
plan_free (struct plan *p)
{
  if (p == NULL)
    return;
  free (p->name);
  free (p->region);
  free (p->target_az);
  free (p->target_namespace);
  for (size_t i = 0; i < p->nr_vms; i++) {
    free (p->vms[i].id);
    free (p->vms[i].new_name);
  }
  free (p->vms);
  for (size_t i = 0; p->selector_tags && p->selector_tags[i]; i++)
    free (p->selector_tags[i]);
  free (p->selector_tags);
  for (size_t i = 0; i < p->nr_storage; i++) {
    free (p->storage[i].ebs_type);
    free (p->storage[i].storage_class);
  }
  free (p->storage);
  for (size_t i = 0; i < p->nr_nets; i++) {
    free (p->nets[i].subnet);
    free (p->nets[i].multus);
  }
  free (p->nets);
  free (p->conversion_image);
  free (p->agent_service_account);
  creds_free (&p->source_creds);
  creds_free (&p->target_creds);
  free (p);
}

const char *
plan_storage_class (const struct plan *p, const char *ebs_type)
{
  for (size_t i = 0; i < p->nr_storage; i++)
    if (strcmp (p->storage[i].ebs_type, ebs_type) == 0)
      return p->storage[i].storage_class;
  return NULL;
}

const struct plan_net *
plan_network (const struct plan *p, const char *subnet)
{
  for (size_t i = 0; i < p->nr_nets; i++)
    if (strcmp (p->nets[i].subnet, subnet) == 0)
      return &p->nets[i];
  return NULL;
}
