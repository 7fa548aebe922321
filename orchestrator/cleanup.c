/* `v2v-orchestrator cleanup [--purge]`: what the plan leaves behind
 * (the phases flagged ORCH_PHASE_LEFTOVER: snapshots, conversion Jobs),
 * or with --purge everything it made (every phase undone, the source
 * left as it is), then the plan's records.  Every delete that fails is
 * named and counted: the command then exits 1 and keeps the records, so
 * that running it again finishes the job.
 */
#include <stdio.h>

#include "log.h"
#include "orch-internal.h"

int
orch_cleanup (const struct orch_options *opts, bool purge,
              struct v2v_error *err)
{
  struct orch o = { .o = opts, .p = opts->plan };
  unsigned failed = 0;
  char path[512];
  int r;

  if ((r = orch_facts_load (&o, err)) < 0)
    goto out;
  /* One batched look at every VM's snapshots and volumes: without it a
   * snapshot or volume could be left unseen, so a failed look fails.
   */
  for (size_t k = POLL_SNAPSHOTS; k <= POLL_VOLUMES; k++) {
    for (size_t i = 0; i < o.nr_runs; i++) {
      o.runs[i].st = RUN_ACTIVE;
      o.runs[i].waiting = k;
    }
    if ((r = orch_poll_round (&o, err)) < 0)
      goto out;
  }
  for (size_t i = 0; i < o.nr_runs; i++) {
    struct vm_run *run = &o.runs[i];
    unsigned vm_failed;
    /* Undoing the stop would start the source: it stays as it is. */
    run->vm.prior_state[0] = '\0';
    vm_failed = orch_rollback (&o, run, orch_nr_phases - 1,
                               purge ? ROLLBACK_PURGE : ROLLBACK_LEFTOVER,
                               false);
    if (vm_failed)
      printf ("%s: %u thing(s) could not be deleted (see the log)\n",
              run->vm.id, vm_failed);
    else
      printf ("%s: cleaned\n", run->vm.id);
    failed += vm_failed;
  }
  /* The records go last, and only when all else went. */
  if (failed == 0) {
    struct vm_run plan = { .vm.id = "plan" };
    snprintf (path, sizeof path,
              "/api/v1/namespaces/%s/configmaps/v2v-plan-%s",
              o.p->target_namespace, o.p->name);
    failed += orch_kube_delete (&o, &plan, path) < 0;
  }
  r = failed ? 1 : 0;
  if (failed)
    log_error ("cleanup: %u thing(s) could not be deleted", failed);
out:
  orch_free_runs (&o);
  return r;
}
