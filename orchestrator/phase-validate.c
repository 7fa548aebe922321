/* validate: what can be migrated, checked before anything changes.
 * EBS only (instance-store disks are named in a warning), no more disks
 * or NICs than a VM takes (refused, never cut), every volume type in
 * storageMap, schedulable nodes in the target AZ (listed once a run).
 */
#include <stdio.h>

#include "cleanup.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "orch-internal.h"

static void
check_zone (struct orch *o)
{
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

static enum orch_step
validate_run (struct orch *o, struct vm_run *r)
{
  struct orch_vm *vm = &r->vm;

  if (vm->nr_disks == 0) {
    orch_fail (r, "instance %s has no EBS volume", vm->id);
    return STEP_FAIL;
  }
  if (vm->nr_ebs_listed > ORCH_MAX_DISKS) {
    orch_fail (r, "instance %s has %zu EBS volumes; at most %d can be "
               "migrated (a VM here takes %d disks)", vm->id,
               vm->nr_ebs_listed, ORCH_MAX_DISKS, ORCH_MAX_DISKS);
    return STEP_FAIL;
  }
  if (vm->nr_enis_listed > ORCH_MAX_NICS) {
    orch_fail (r, "instance %s has %zu network interfaces; at most %d can "
               "be migrated", vm->id, vm->nr_enis_listed, ORCH_MAX_NICS);
    return STEP_FAIL;
  }
  for (size_t i = 0; i < vm->nr_disks; i++)
    if (plan_storage_class (o->p, vm->disks[i].type) == NULL) {
      orch_fail (r, "volume %s is EBS type '%s', which storageMap does not "
                 "map: add \"%s\": \"STORAGECLASS\" to it",
                 vm->disks[i].src_volume, vm->disks[i].type,
                 vm->disks[i].type);
      return STEP_FAIL;
    }
  if (vm->instance_store[0])
    log_warn ("%s: %s", vm->id, vm->instance_store);
  if (!o->zone_checked)
    check_zone (o);
  if (!o->zone_ok) {
    orch_fail (r, "no schedulable node is labelled "
               "topology.kubernetes.io/zone=%s: volumes there could not be "
               "attached; pick a targetAZ where the cluster has nodes",
               o->p->target_az);
    return STEP_FAIL;
  }
  return STEP_DONE;
}

const struct orch_phase orch_phase_validate = {
  .name = "validate",
  .run = validate_run,
};
