/* convert: the conversion Job (the agent on /dev/block0..N), then wait
 * for it and read the agent's result: the Pod's termination message, or
 * its result annotation if the container never wrote one.  Undo (unless
 * --keep-on-failure, and by `cleanup`): delete the Job and its Pod.
 */
#include <stdio.h>

#include "cleanup.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "orch-internal.h"
#include "timeutil.h"

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

static enum orch_step
convert_run (struct orch *o, struct vm_run *r)
{
  struct orch_vm *vm = &r->vm;
  CLEANUP_JSON struct json_object *job = NULL;
  struct v2v_error err = { 0 };
  char path[512];
  int64_t succeeded = 0, failed = 0;

  if (o->p->skip_guest_conversion)
    return STEP_DONE;
  if (!r->job_created) {
    snprintf (path, sizeof path, "/apis/batch/v1/namespaces/%s/jobs",
              o->p->target_namespace);
    if (orch_kube_create (o, path, orch_render_job (o->p, vm), r) < 0)
      return STEP_FAIL;
    r->job_created = true;
    r->job_start = now_s ();
    log_info ("%s: conversion Job %s", vm->id, vm->job);
    orch_crash_point ("convert");
  }
  snprintf (path, sizeof path, "/apis/batch/v1/namespaces/%s/jobs/%s",
            o->p->target_namespace, vm->job);
  if (kube_get (o->o->kube, path, &job, &err) < 0) {
    orch_kube_whose (o, &err);
    orch_fail_err (r, &err);
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
    orch_fail (r, "conversion Job %s failed: %s", vm->job,
               m ? m : "no result from the agent (see the Pod's log)");
    return STEP_FAIL;
  }
  if (now_s () - r->job_start > o->p->job_timeout_s) {
    orch_fail (r, "conversion Job %s did not finish in %.0f s", vm->job,
               o->p->job_timeout_s);
    return STEP_FAIL;
  }
  return STEP_WAIT;
}

/* With propagationPolicy=Background (kube_delete), so that its Pod goes
 * too: batch/v1 orphans a Job's Pods by default.
 */
static unsigned
convert_undo (struct orch *o, struct vm_run *r)
{
  char path[512];

  if (o->p->skip_guest_conversion)
    return 0;
  snprintf (path, sizeof path, "/apis/batch/v1/namespaces/%s/jobs/%s",
            o->p->target_namespace, r->vm.job);
  return orch_kube_delete (o, r, path) < 0;
}

const struct orch_phase orch_phase_convert = {
  .name = "convert",
  .run = convert_run,
  .poll = POLL_KUBE,
  .undo = convert_undo,
  .flags = ORCH_PHASE_TARGET | ORCH_PHASE_LEFTOVER,
};
