/* netpol (plan option networkPolicies): the VM's security groups as a
 * NetworkPolicy (render-netpol.c), made before the VirtualMachine so
 * that the VM never runs unguarded.  The groups of every VM in the plan
 * are described once, in one DescribeSecurityGroups.  Created by name: on
 * a 409 the one there is read; one this migration made (its plan and VM
 * labels) is kept, with a warning if its rules are not what the groups
 * say now; anyone else's fails the VM rather than guard it with rules
 * nobody checked.  Undo (`cleanup --purge`, a failure): delete it, if
 * it is ours (read first: a failure on someone else's leaves it be).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "ec2.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "strv.h"

#include "orch-internal.h"

static int
describe_groups (struct orch *o, struct v2v_error *err)
{
  CLEANUP_STRV char **ids = NULL;

  if (o->groups_described)
    return 0;
  for (size_t i = 0; i < o->nr_runs; i++) {
    char **sg = o->runs[i].vm.security_groups;
    for (size_t j = 0; sg && sg[j]; j++)
      if (strv_add_unique (&ids, sg[j]) < 0)
        return v2v_error_set (err, -ENOMEM, "out of memory");
  }
  if (ids && ec2_describe_security_groups (o->o->source,
                                           (const char *const *) ids, NULL, 0,
                                           &o->groups, &o->nr_groups,
                                           err) < 0)
    return err->code;
  o->groups_described = true;
  return 0;
}

static const char *
label (struct json_object *obj, const char *key)
{
  struct json_object *m, *l, *v;

  if (json_object_object_get_ex (obj, "metadata", &m) &&
      json_object_object_get_ex (m, "labels", &l) &&
      json_object_object_get_ex (l, key, &v))
    return json_object_get_string (v);
  return NULL;
}

/* Whether GOT carries this migration's labels for R. */
static bool
ours (struct orch *o, struct vm_run *r, struct json_object *got)
{
  const char *plan = label (got, ORCH_LABEL_PLAN);
  const char *vm = label (got, ORCH_LABEL_VM);

  return plan && vm && strcmp (plan, o->p->name) == 0 &&
    strcmp (vm, r->vm.id) == 0;
}

/* The policy named as WANT is there already: take it if ours. */
static int
adopt (struct orch *o, struct vm_run *r, const char *path,
       struct json_object *want)
{
  CLEANUP_JSON struct json_object *got = NULL;
  struct v2v_error err = { 0 };
  char one[640];

  snprintf (one, sizeof one, "%s/%s", path, r->vm.netpol);
  if (kube_get (o->o->kube, one, &got, &err) < 0) {
    orch_kube_whose (o, &err);
    orch_fail_err (r, &err);
    return -1;
  }
  if (!ours (o, r, got)) {
    orch_fail (r, "NetworkPolicy %s/%s exists and was not made by this "
               "migration (labels %s=%s, %s=%s): rename or delete it",
               o->p->target_namespace, r->vm.netpol, ORCH_LABEL_PLAN,
               o->p->name, ORCH_LABEL_VM, r->vm.id);
    return -1;
  }
  if (!json_object_equal (json_object_object_get (got, "spec"),
                          json_object_object_get (want, "spec")))
    log_warn ("%s: NetworkPolicy %s/%s exists with other rules than its "
              "security groups have now; kept as it is", r->vm.id,
              o->p->target_namespace, r->vm.netpol);
  return 0;
}

static enum orch_step
netpol_run (struct orch *o, struct vm_run *r)
{
  CLEANUP_JSON struct json_object *np = NULL;
  CLEANUP_STRV char **warnings = NULL;
  struct v2v_error err = { 0 };
  char path[512];
  int rc;

  if (!o->p->network_policies)
    return STEP_DONE;
  if (describe_groups (o, &err) < 0) {
    orch_fail_err (r, &err);
    return STEP_FAIL;
  }
  np = orch_render_network_policy (o->p, &r->vm, o->groups, o->nr_groups,
                                   &warnings);
  if (np == NULL) {
    orch_fail (r, "out of memory");
    return STEP_FAIL;
  }
  for (size_t i = 0; warnings && warnings[i]; i++)
    log_warn ("%s: %s", r->vm.id, warnings[i]);
  snprintf (path, sizeof path,
            "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies",
            o->p->target_namespace);
  rc = kube_create (o->o->kube, path, np, NULL, &err);
  if (rc == -EEXIST) {
    if (adopt (o, r, path, np) < 0)
      return STEP_FAIL;
  }
  else if (rc < 0) {
    orch_kube_whose (o, &err);
    orch_fail_err (r, &err);
    return STEP_FAIL;
  }
  log_info ("%s: NetworkPolicy %s/%s from its security groups", r->vm.id,
            o->p->target_namespace, r->vm.netpol);
  orch_crash_point ("netpol");
  return STEP_DONE;
}

static unsigned
netpol_undo (struct orch *o, struct vm_run *r)
{
  CLEANUP_JSON struct json_object *got = NULL;
  struct v2v_error err = { 0 };
  char path[512];
  int rc;

  /* Without the option nothing was made, and the orchestrator may not
   * be granted networkpolicies at all.
   */
  if (!o->p->network_policies)
    return 0;
  snprintf (path, sizeof path,
            "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies/%s",
            o->p->target_namespace, r->vm.netpol);
  /* Someone else's of that name (the run failed on it) stays. */
  rc = kube_get (o->o->kube, path, &got, &err);
  if (rc == -ENOENT)
    return 0;
  if (rc < 0) {
    orch_kube_whose (o, &err);
    log_error ("%s: could not look at %s: %s", r->vm.id, path, err.msg);
    return 1;
  }
  if (!ours (o, r, got))
    return 0;
  return orch_kube_delete (o, r, path) < 0;
}

const struct orch_phase orch_phase_netpol = {
  .name = "netpol",
  .run = netpol_run,
  .undo = netpol_undo,
  .flags = ORCH_PHASE_TARGET,
};
