/* vm: the VirtualMachine, with the instance's user data (asked once) as
 * a cloudInitNoCloud volume; created by name, so a 409 is one made
 * earlier.  Undo (`cleanup --purge`): delete it.
 */
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "log.h"

#include "orch-internal.h"

static enum orch_step
vm_phase_run (struct orch *o, struct vm_run *r)
{
  struct v2v_error err = { 0 };
  char path[512];

  if (r->vm.user_data == NULL &&
      ec2_describe_user_data (o->o->source, r->vm.id, &r->vm.user_data,
                              &err) < 0) {
    orch_fail_err (r, &err);
    return STEP_FAIL;
  }
  if (!r->vm.uefi_checked && strncmp (r->vm.boot_mode, "uefi", 4) == 0) {
    CLEANUP_FREE char *data = NULL;
    if (ec2_get_uefi_data (o->o->source, r->vm.id, &data, &err) < 0) {
      orch_fail_err (r, &err);
      return STEP_FAIL;
    }
    r->vm.uefi_checked = true;
    r->vm.uefi_data = data != NULL;
    if (r->vm.uefi_data && !o->p->secure_boot)
      log_warn ("%s: the instance has UEFI Secure Boot data, but the plan "
                "does not set secureBoot: the VM boots with Secure Boot "
                "turned off", r->vm.id);
  }
  snprintf (path, sizeof path,
            "/apis/kubevirt.io/v1/namespaces/%s/virtualmachines",
            o->p->target_namespace);
  if (orch_kube_create (o, path, orch_render_vm (o->p, &r->vm), r) < 0)
    return STEP_FAIL;
  orch_crash_point ("vm");
  return STEP_DONE;
}

static unsigned
vm_undo (struct orch *o, struct vm_run *r)
{
  char path[512];

  snprintf (path, sizeof path,
            "/apis/kubevirt.io/v1/namespaces/%s/virtualmachines/%s",
            o->p->target_namespace, r->vm.name);
  return orch_kube_delete (o, r, path) < 0;
}

const struct orch_phase orch_phase_vm = {
  .name = "vm",
  .run = vm_phase_run,
  .undo = vm_undo,
  .flags = ORCH_PHASE_TARGET,
};
