/* bind: a pre-bound PV (CSI, the new volume) and a Block-mode PVC per
 * disk; created by name, so a 409 is one made earlier.  Undo (unless
 * --keep-on-failure): delete them.
 */
#include <stdio.h>

#include "orch-internal.h"

static enum orch_step
bind_run (struct orch *o, struct vm_run *r)
{
  char path[512];

  snprintf (path, sizeof path, "/api/v1/namespaces/%s/persistentvolumeclaims",
            o->p->target_namespace);
  for (size_t i = 0; i < r->vm.nr_disks; i++) {
    const struct orch_disk *d = &r->vm.disks[i];
    if (orch_kube_create (o, "/api/v1/persistentvolumes",
                          orch_render_pv (o->p, &r->vm, d), r) < 0 ||
        orch_kube_create (o, path, orch_render_pvc (o->p, &r->vm, d), r) < 0)
      return STEP_FAIL;
  }
  orch_crash_point ("bind");
  return STEP_DONE;
}

static unsigned
bind_undo (struct orch *o, struct vm_run *r)
{
  unsigned failed = 0;
  char path[512];

  for (size_t i = 0; i < r->vm.nr_disks; i++) {
    const struct orch_disk *d = &r->vm.disks[i];
    snprintf (path, sizeof path,
              "/api/v1/namespaces/%s/persistentvolumeclaims/%s",
              o->p->target_namespace, d->pvc);
    failed += orch_kube_delete (o, r, path) < 0;
    snprintf (path, sizeof path, "/api/v1/persistentvolumes/%s", d->pv);
    failed += orch_kube_delete (o, r, path) < 0;
  }
  return failed;
}

const struct orch_phase orch_phase_bind = {
  .name = "bind",
  .run = bind_run,
  .undo = bind_undo,
  .flags = ORCH_PHASE_TARGET,
};
