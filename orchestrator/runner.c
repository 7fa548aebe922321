/* The runner: every VM through the phase table, at most maxInFlight at
 * a time, one batched poll of each kind a round.  What a phase waits on,
 * what a resumed VM looks at first and what a failure takes back all
 * come from the table (orch-internal.h), not from code around a phase.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "orch-internal.h"
#include "strv.h"
#include "timeutil.h"

void
orch_crash_point (const char *phase)
{
  const char *c = getenv ("V2V_ORCH_CRASH_AFTER");

  if (c && strcmp (c, phase) == 0) {
    log_warn ("V2V_ORCH_CRASH_AFTER=%s: killing myself", phase);
    raise (SIGKILL);
  }
}

void
orch_fail (struct vm_run *r, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (r->error, sizeof r->error, fmt, ap);
  va_end (ap);
}

void
orch_fail_err (struct vm_run *r, const struct v2v_error *err)
{
  r->err_code = err->code;
  orch_fail (r, "%s", err->msg);
}

void
orch_kube_whose (struct orch *o, struct v2v_error *err)
{
  if (err->code == -EACCES)
    v2v_error_prefix (err, "Kubernetes API %s",
                      kube_config_server (o->o->kube));
}

int
orch_kube_create (struct orch *o, const char *path, struct json_object *obj,
                  struct vm_run *r)
{
  struct v2v_error err = { 0 };
  int rc = kube_create (o->o->kube, path, obj, NULL, &err);

  json_object_put (obj);
  if (rc == -EEXIST)
    return 0;
  if (rc < 0) {
    orch_kube_whose (o, &err);
    orch_fail_err (r, &err);
  }
  return rc;
}

int
orch_kube_delete (struct orch *o, struct vm_run *r, const char *path)
{
  struct v2v_error err = { 0 };

  if (kube_delete (o->o->kube, path, &err) < 0) {
    orch_kube_whose (o, &err);
    log_error ("%s: could not delete %s: %s", r->vm.id, path, err.msg);
    return -1;
  }
  return 0;
}

/* The kinds phases 0..UPTO (inclusive) made and wait on. */
static unsigned
looks_upto (size_t upto)
{
  unsigned looks = 0;

  for (size_t i = 0; i <= upto && i < orch_nr_phases; i++)
    looks |= POLL_BIT (orch_phases[i]->poll);
  return looks & POLL_FACTS;
}

unsigned
orch_rollback (struct orch *o, struct vm_run *r, size_t upto,
               enum orch_rollback which, bool look)
{
  unsigned failed = 0;

  if (upto >= orch_nr_phases)
    upto = orch_nr_phases - 1;
  /* What an earlier, crashed run made is ours too: find it by tags. */
  if (look)
    orch_look (o, r, looks_upto (upto));
  for (size_t i = upto + 1; i-- > 0;) {
    const struct orch_phase *ph = orch_phases[i];
    if (ph->undo == NULL)
      continue;
    if (which == ROLLBACK_LEFTOVER && !(ph->flags & ORCH_PHASE_LEFTOVER))
      continue;
    if (which == ROLLBACK_FAILED && (ph->flags & ORCH_PHASE_TARGET) &&
        o->o->keep_on_failure)
      continue;
    failed += ph->undo (o, r);
  }
  return failed;
}

/* Enter phase R->phase: its first round looks at what it may find made
 * (a phase waiting on snapshots or volumes first learns of them).
 */
static void
enter (struct vm_run *r)
{
  r->phase_start = now_s ();
  r->looks |= POLL_BIT (orch_phases[r->phase]->poll) & POLL_FACTS;
}

static void
advance (struct orch *o, struct vm_run *r)
{
  while (r->st == RUN_ACTIVE) {
    const struct orch_phase *ph = orch_phases[r->phase];
    enum orch_step s;

    /* Looks still to make come first, one kind a round. */
    r->waiting = POLL_NONE;
    for (int k = 0; k < NR_POLLS; k++)
      if (r->looks & POLL_BIT (k)) {
        r->looks &= ~POLL_BIT (k);
        r->waiting = k;
        return;
      }
    s = ph->run (o, r);
    if (s == STEP_WAIT) {
      r->waiting = ph->poll;
      return;
    }
    if (s == STEP_FAIL) {
      log_error ("%s: %s", r->vm.id, r->error);
      orch_rollback (o, r, r->phase, ROLLBACK_FAILED, true);
      r->st = RUN_FAILED;
      orch_record (o, r, "Failed");
      return;
    }
    log_info ("%s: %s done in %.1f s", r->vm.id, ph->name,
              now_s () - r->phase_start);
    if (++r->phase == orch_nr_phases) {
      r->st = RUN_DONE;
      orch_record (o, r, r->final[0] ? r->final : "Succeeded");
      if (r->final[0] == '\0')
        log_info ("%s: migrated to %s/%s", r->vm.id, o->p->target_namespace,
                  r->vm.name);
      return;
    }
    enter (r);
    orch_record (o, r, "Running");
  }
}

static void
sleep_s (double s)
{
  struct timespec ts = { (time_t) s, (long) ((s - (time_t) s) * 1e9) };

  while (nanosleep (&ts, &ts) == -1 && errno == EINTR)
    ;
}

void
orch_free_runs (struct orch *o)
{
  for (size_t i = 0; i < o->nr_runs; i++) {
    struct orch_vm *vm = &o->runs[i].vm;
    free (vm->user_data);
    strv_free (vm->tags);
    strv_free (vm->security_groups);
    json_object_put (vm->result);
    for (size_t j = 0; j < vm->nr_disks; j++)
      strv_free (vm->disks[j].src_tags);
  }
  free (o->runs);
  o->runs = NULL;
  o->nr_runs = 0;
}

/* Where each VM starts, from its record and the VirtualMachines made:
 * finished VMs stay finished; an interrupted one goes on from the phase
 * it was in, after looking at what the phases before it made; a failed
 * one starts over.  Returns the number already finished.
 */
static size_t
resume (struct orch *o, struct json_object *migrated)
{
  size_t finished = 0;

  for (size_t i = 0; i < o->nr_runs; i++) {
    struct vm_run *run = &o->runs[i];
    CLEANUP_JSON struct json_object *rec = orch_record_old (o, run->vm.id);
    const char *s = NULL, *outcome = "", *vm_name;

    if (rec && json_get_string (rec, "priorState", &s, NULL) == 0)
      snprintf (run->vm.prior_state, sizeof run->vm.prior_state, "%s", s);
    if (rec)
      json_get_string (rec, "outcome", &outcome, NULL);
    vm_name = orch_migrated_as (migrated, run->vm.id);
    if (strcmp (outcome, "RolledBack") == 0 ||
        strcmp (outcome, "Degraded") == 0) {
      /* Verified unhealthy: the VM is kept for diagnosis, and only
       * `cleanup --purge` and a new migration take it back.
       */
      run->st = RUN_DONE;
      run->phase = orch_nr_phases;
      snprintf (run->final, sizeof run->final, "%s", outcome);
      orch_record_resume (run, rec);
      if (json_get_string (rec, "error", &s, NULL) == 0)
        snprintf (run->error, sizeof run->error, "%s", s);
      finished++;
      log_info ("%s: %s earlier (%s)", run->vm.id, outcome, run->problems);
      continue;
    }
    if ((vm_name && strcmp (outcome, "Running") != 0) ||
        strcmp (outcome, "Succeeded") == 0) {
      /* Migrated: its source is never stopped again, nor its disks
       * converted again, even when `cleanup` deleted its record.
       */
      run->st = RUN_DONE;
      run->phase = orch_nr_phases;
      finished++;
      if (vm_name && strcmp (outcome, "Succeeded") != 0) {
        snprintf (run->note, sizeof run->note, "VirtualMachine %s/%s exists",
                  o->p->target_namespace, vm_name);
        log_info ("%s: already migrated (%s)", run->vm.id, run->note);
        orch_record (o, run, "Succeeded");
      }
      else
        log_info ("%s: already migrated", run->vm.id);
      continue;
    }
    if (strcmp (outcome, "Running") == 0 &&
        json_get_string (rec, "phase", &s, NULL) == 0) {
      size_t p = orch_phase_index (s);
      if (p > 0 && p < orch_nr_phases) {
        run->phase = p;
        orch_record_resume (run, rec);
        run->looks = looks_upto (p - 1);
        log_info ("%s: resuming at %s", run->vm.id, s);
      }
    }
  }
  return finished;
}

int
orch_migrate (const struct orch_options *opts, struct v2v_error *err)
{
  struct orch o = { .o = opts, .p = opts->plan, .run_id = time (NULL) };
  CLEANUP_JSON struct json_object *migrated = NULL;
  size_t active = 0, finished, failed = 0, unhealthy = 0;
  struct vm_run *refused = NULL;
  int r;

  if ((r = orch_records_load (&o, err)) < 0 ||
      (r = orch_facts_load (&o, err)) < 0 ||
      (r = orch_list_migrated (&o, &migrated, err)) < 0)
    goto out;
  finished = resume (&o, migrated);

  while (finished < o.nr_runs) {
    /* Start VMs up to maxInFlight. */
    for (size_t i = 0; i < o.nr_runs && active < o.p->max_in_flight; i++)
      if (o.runs[i].st == RUN_PENDING) {
        o.runs[i].st = RUN_ACTIVE;
        enter (&o.runs[i]);
        active++;
        log_info ("%s: migrating (%zu disk(s), %s)", o.runs[i].vm.id,
                  o.runs[i].vm.nr_disks, o.runs[i].vm.type);
      }
    for (size_t i = 0; i < o.nr_runs; i++) {
      struct vm_run *run = &o.runs[i];
      if (run->st != RUN_ACTIVE)
        continue;
      advance (&o, run);
      if (run->st == RUN_ACTIVE)
        continue;
      active--;
      finished++;
      failed += run->st == RUN_FAILED;
      if (run->st == RUN_FAILED && run->err_code == -EACCES && !refused)
        refused = run;
    }
    if (finished == o.nr_runs)
      break;
    sleep_s (o.p->poll_interval_s);
    if (orch_poll_round (&o, err) < 0)
      log_warn ("polling: %s (trying again next round)", err->msg);
  }
  for (size_t i = 0; i < o.nr_runs; i++)
    unhealthy += o.runs[i].final[0] != '\0';
  log_info ("plan %s: %zu VM(s) migrated, %zu failed, %zu unhealthy "
            "(rolled back or degraded)", o.p->name,
            o.nr_runs - failed - unhealthy, failed, unhealthy);
  r = failed || unhealthy ? 1 : 0;
  /* Credentials refused: that is what the user must fix first. */
  if (refused)
    r = v2v_error_set (err, -EACCES, "%s: %s", refused->vm.id,
                       refused->error);

out:
  orch_free_runs (&o);
  json_object_put (o.records);
  return r;
}
