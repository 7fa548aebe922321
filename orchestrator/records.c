/* The plan's records: the ConfigMap v2v-plan-NAME in the target
 * namespace holds one record per VM (its phase, outcome, error or note,
 * and the one fact no tag gives back: the instance's power state before
 * it was stopped).  And the VirtualMachines migrations made, which say
 * an instance is migrated even when `cleanup` deleted its record.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "orch-internal.h"

static void
configmap_path (struct orch *o, char *path, size_t len)
{
  snprintf (path, len, "/api/v1/namespaces/%s/configmaps/%s",
            o->p->target_namespace, o->configmap);
}

void
orch_record (struct orch *o, struct vm_run *r, const char *outcome)
{
  CLEANUP_JSON struct json_object *patch = json_object_new_object ();
  struct json_object *data = json_object_new_object ();
  struct json_object *rec = json_object_new_object ();
  struct v2v_error err = { 0 };
  char path[512];

  json_object_object_add (rec, "phase", json_object_new_string
                          (r->phase < orch_nr_phases
                           ? orch_phases[r->phase]->name : "done"));
  json_object_object_add (rec, "priorState",
                          json_object_new_string (r->vm.prior_state));
  json_object_object_add (rec, "outcome", json_object_new_string (outcome));
  if (r->error[0])
    json_object_object_add (rec, "error", json_object_new_string (r->error));
  if (r->note[0])
    json_object_object_add (rec, "note", json_object_new_string (r->note));
  /* Waiting on snapshots: how far, and when they should be done. */
  if (r->progress > 0 && r->progress < 100)
    json_object_object_add (rec, "progress",
                            json_object_new_int (r->progress));
  if (r->eta_s > 0)
    json_object_object_add (rec, "etaSeconds",
                            json_object_new_int64 ((int64_t) (r->eta_s + 0.5)));
  if (r->stopped_at > 0)
    json_object_object_add (rec, "stoppedAt",
                            json_object_new_double (r->stopped_at));
  if (r->verdict[0]) {
    json_object_object_add (rec, "verdict",
                            json_object_new_string (r->verdict));
    json_object_object_add (rec, "problems",
                            json_object_new_string (r->problems));
  }
  if (r->console_tail[0])
    json_object_object_add (rec, "consoleTail",
                            json_object_new_string (r->console_tail));
  if (r->downtime_s > 0)
    json_object_object_add (rec, "downtimeSeconds",
                            json_object_new_double (r->downtime_s));
  json_object_object_add (data, r->vm.id, json_object_new_string
                          (json_object_to_json_string_ext
                           (rec, JSON_C_TO_STRING_PLAIN)));
  json_object_put (rec);
  json_object_object_add (patch, "data", data);
  configmap_path (o, path, sizeof path);
  if (kube_merge_patch (o->o->kube, path, patch, &err) < 0)
    log_warn ("%s: recording the state: %s", r->vm.id, err.msg);
}

static struct json_object *
new_configmap (struct orch *o)
{
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
  return obj;
}

int
orch_records_load (struct orch *o, struct v2v_error *err)
{
  CLEANUP_JSON struct json_object *cm = NULL;
  struct json_object *data;
  char path[512];
  int r;

  snprintf (o->configmap, sizeof o->configmap, "v2v-plan-%s", o->p->name);
  configmap_path (o, path, sizeof path);
  r = kube_get (o->o->kube, path, &cm, err);
  orch_kube_whose (o, err);
  if (r == -ENOENT) {
    CLEANUP_JSON struct json_object *obj = new_configmap (o);
    snprintf (path, sizeof path, "/api/v1/namespaces/%s/configmaps",
              o->p->target_namespace);
    r = kube_create (o->o->kube, path, obj, NULL, err);
    orch_kube_whose (o, err);
    if (r == -EEXIST)
      r = 0;
    o->records = json_object_new_object ();
    return r;
  }
  if (r < 0)
    return r;
  o->records = json_object_object_get_ex (cm, "data", &data) && data
    ? json_object_get (data) : json_object_new_object ();
  return 0;
}

double
orch_wall_s (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* The one place downtime is measured: from StopInstances (the stop
 * phase) to the guest verified healthy (phase-verify.c), or, when it
 * is not verified, to its VirtualMachine created.
 */
void
orch_downtime_end (struct vm_run *r, const char *until)
{
  if (r->stopped_at > 0 && r->downtime_s == 0) {
    r->downtime_s = orch_wall_s () - r->stopped_at;
    log_info ("%s: downtime %.1f s (stopped to %s)", r->vm.id, r->downtime_s,
              until);
  }
}

static double
record_double (struct json_object *rec, const char *key)
{
  struct json_object *v;

  if (rec && json_object_object_get_ex (rec, key, &v) &&
      (json_object_is_type (v, json_type_double) ||
       json_object_is_type (v, json_type_int)))
    return json_object_get_double (v);
  return 0;
}

double
orch_record_downtime (struct json_object *rec)
{
  return record_double (rec, "downtimeSeconds");
}

void
orch_record_resume (struct vm_run *r, struct json_object *rec)
{
  const char *s;

  r->stopped_at = record_double (rec, "stoppedAt");
  r->downtime_s = record_double (rec, "downtimeSeconds");
  /* The health gate's verdict, acted on without the console again. */
  if (json_get_string (rec, "verdict", &s, NULL) == 0)
    snprintf (r->verdict, sizeof r->verdict, "%s", s);
  if (json_get_string (rec, "problems", &s, NULL) == 0)
    snprintf (r->problems, sizeof r->problems, "%s", s);
  if (json_get_string (rec, "consoleTail", &s, NULL) == 0)
    snprintf (r->console_tail, sizeof r->console_tail, "%s", s);
}

struct json_object *
orch_record_old (struct orch *o, const char *id)
{
  struct json_object *v, *rec = NULL;

  if (o->records && json_object_object_get_ex (o->records, id, &v) &&
      json_object_is_type (v, json_type_string))
    json_parse (json_object_get_string (v), json_object_get_string_len (v),
                0, &rec, NULL);
  return rec;
}

int
orch_list_migrated (struct orch *o, struct json_object **ret,
                    struct v2v_error *err)
{
  struct json_object *items;
  char path[512];
  int r;

  snprintf (path, sizeof path, "/apis/kubevirt.io/v1/namespaces/%s/"
            "virtualmachines?labelSelector=v2v.kubevirt.io%%2Fvm",
            o->p->target_namespace);
  r = kube_get (o->o->kube, path, ret, err);
  orch_kube_whose (o, err);
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

const char *
orch_migrated_as (struct json_object *list, const char *id)
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
