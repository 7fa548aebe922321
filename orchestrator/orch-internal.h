/* Internal to the orchestrator's pipeline: the run of each VM, the phase
 * table, and what the runner (runner.c), the records (records.c), the
 * EC2 facts (facts.c), the phases (phase-*.c) and the status and cleanup
 * commands share.  Not for main.c, which has migrate.h.
 *
 * A phase is a row of the table (phases.c), as libnbd's generator states
 * are: its name (what the records and `status` show), RUN (one step:
 * done, wait or fail), POLL (what it waits on: the runner makes one
 * batched call of that kind a round for every VM waiting on it, and it
 * is also what a resumed or failed VM must look at again first), UNDO
 * (what a failure or `cleanup` takes back) and FLAGS.  The runner derives
 * the waiting, the resume and the rollback from the table; a phase never
 * sleeps, loops or cleans up after itself.
 */
#ifndef V2V_ORCH_INTERNAL_H
#define V2V_ORCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "error.h"
#include "migrate.h"
#include "orch.h"

struct json_object;

enum orch_step { STEP_DONE, STEP_WAIT, STEP_FAIL };

/* What a phase waits on; one batched call of each kind a round. */
enum orch_poll { POLL_NONE, POLL_INSTANCES, POLL_SNAPSHOTS, POLL_VOLUMES,
                 POLL_KUBE, NR_POLLS };
#define POLL_BIT(p) (1u << (p))
/* The kinds a resume or a rollback looks at again: what earlier runs
 * made (instances and Jobs are looked at by the phases themselves).
 */
#define POLL_FACTS (POLL_BIT (POLL_SNAPSHOTS) | POLL_BIT (POLL_VOLUMES))

enum run_state { RUN_PENDING, RUN_ACTIVE, RUN_DONE, RUN_FAILED };

struct vm_run {
  struct orch_vm vm;
  enum run_state st;
  bool described;               /* EC2's facts are in VM */
  size_t phase;                 /* index in orch_phases */
  enum orch_poll waiting;
  unsigned looks;               /* POLL_BITs still to make before going on */
  char error[1024];
  int err_code;                 /* why it failed: -EACCES is exit 4 */
  char note[160];               /* "VirtualMachine NS/NAME exists" */
  double phase_start;

  /* The phases' own state. */
  bool stop_sent, snapshots_sent, job_created;
  int snapshot_tries;           /* CreateSnapshots sent, answered or not */
  bool pre_sent;                /* the same for the pre-copy snapshots */
  int pre_tries;
  int progress;                 /* waiting on snapshots: the least one's
                                   Progress (0: not known) */
  double eta_s;                 /* and when they should be done, or -1 */
  double stopped_at;            /* epoch s StopInstances was sent, or 0 */
  double downtime_s;            /* stopped to guest healthy, or 0 */
  char extra_snaps[ORCH_MAX_DISKS][32]; /* a second set, to delete */
  size_t nr_extra_snaps;
  double job_start;

  /* The health gate (phase-verify.c); all but verify_start is in the
   * record, so a resumed run goes on.
   */
  double verify_start;          /* monotonic: the gate's first look */
  char verdict[16];             /* "", healthy, unhealthy */
  char problems[512];           /* the health line's, or the timeout's */
  char console_tail[1024];      /* the console's last lines when unhealthy */
  char final[16];               /* RolledBack, Degraded; "": Succeeded */
};

struct orch {
  const struct orch_options *o;
  struct plan *p;
  struct vm_run *runs;
  size_t nr_runs;
  char configmap[128];
  struct json_object *records;  /* the ConfigMap's data, parsed */
  time_t run_id;                /* this run's start, for ClientTokens */
  bool zone_checked, zone_ok;   /* the target AZ's nodes, listed once */
};

#define ORCH_PHASE_TARGET   1u  /* undone only without --keep-on-failure */
#define ORCH_PHASE_LEFTOVER 2u  /* `cleanup` (no --purge) undoes it too */

struct orch_phase {
  const char *name;
  enum orch_step (*run) (struct orch *o, struct vm_run *r);
  enum orch_poll poll;
  /* Returns how many things it could not undo (each logged). */
  unsigned (*undo) (struct orch *o, struct vm_run *r);
  unsigned flags;
};

extern const struct orch_phase orch_phase_validate, orch_phase_presnapshot,
  orch_phase_stop,
  orch_phase_snapshot, orch_phase_share, orch_phase_volumes,
  orch_phase_bind, orch_phase_convert, orch_phase_vm, orch_phase_verify,
  orch_phase_cleanup;
extern const struct orch_phase *const orch_phases[];
extern const size_t orch_nr_phases;
/* The index of phase NAME, or orch_nr_phases. */
extern size_t orch_phase_index (const char *name);

/* --- phase-snapshot.c: shared with phase-presnapshot.c ----------------- */

/* One step of taking R's snapshots: the pre-copy ones (PRE) or the
 * final ones; waits on them with their progress in R.
 */
extern enum orch_step orch_snapshot_step (struct orch *o, struct vm_run *r,
                                          bool pre);
/* Delete R's snapshots, pre-copy and final, and any second set. */
extern unsigned orch_snapshot_undo (struct orch *o, struct vm_run *r);

/* --- runner.c --------------------------------------------------------- */

/* V2V_ORCH_CRASH_AFTER=PHASE: SIGKILL right after that phase's first
 * change to the world (for the crash-and-resume tests).
 */
extern void orch_crash_point (const char *phase);
extern void orch_fail (struct vm_run *r, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
/* Fail with a call's error, keeping its code. */
extern void orch_fail_err (struct vm_run *r, const struct v2v_error *err);
/* Kubernetes refused our credentials: say which API server. */
extern void orch_kube_whose (struct orch *o, struct v2v_error *err);
/* POST OBJ (consumed) to PATH; a 409 is success. */
extern int orch_kube_create (struct orch *o, const char *path,
                             struct json_object *obj, struct vm_run *r);
/* DELETE PATH (Background); returns 0, or -1 with the failure logged. */
extern int orch_kube_delete (struct orch *o, struct vm_run *r,
                             const char *path);
/* Undo, in reverse order, the phases up to UPTO (an index) that WHICH
 * says; look at the VM's snapshots and volumes first if LOOK.  Returns
 * how many things could not be undone.
 */
enum orch_rollback { ROLLBACK_FAILED, ROLLBACK_LEFTOVER, ROLLBACK_PURGE };
extern unsigned orch_rollback (struct orch *o, struct vm_run *r, size_t upto,
                               enum orch_rollback which, bool look);
extern void orch_free_runs (struct orch *o);

/* --- records.c: the plan's ConfigMap ---------------------------------- */

extern int orch_records_load (struct orch *o, struct v2v_error *err);
/* Write R's record with OUTCOME (Running, Succeeded, Failed,
 * RolledBack, Degraded).
 */
extern void orch_record (struct orch *o, struct vm_run *r,
                         const char *outcome);
/* The wall clock in seconds: the downtime spans runs (a resume). */
extern double orch_wall_s (void);
/* R's downtime ends (once): its guest is verified healthy, or (not
 * verified) its VirtualMachine is created; UNTIL says which.
 */
extern void orch_downtime_end (struct vm_run *r, const char *until);
/* The downtime REC says, or 0. */
extern double orch_record_downtime (struct json_object *rec);
/* Take back from an earlier run's record REC what spans runs. */
extern void orch_record_resume (struct vm_run *r, struct json_object *rec);
/* The record of VM ID from an earlier run (caller puts it), or NULL. */
extern struct json_object *orch_record_old (struct orch *o, const char *id);
/* The VirtualMachines migrations made in the target namespace. */
extern int orch_list_migrated (struct orch *o, struct json_object **ret,
                               struct v2v_error *err);
/* The name of the one made from instance ID in LIST, or NULL. */
extern const char *orch_migrated_as (struct json_object *list,
                                     const char *id);

/* --- facts.c: what EC2 knows ----------------------------------------- */

/* The plan's instances, their volumes and instance types, in one batched
 * call of each: fills o->runs.  -EINVAL is a plan problem.
 */
extern int orch_facts_load (struct orch *o, struct v2v_error *err);
/* Take in the snapshots V (N of them), as a poll or CreateSnapshots
 * gives them: the earliest set of each VM is kept, any other marked for
 * deletion.
 */
struct ec2_snapshot;
extern void orch_saw_snapshots (struct orch *o,
                                const struct ec2_snapshot *v, size_t n);
/* One batched call of each kind some active VM is waiting on. */
extern int orch_poll_round (struct orch *o, struct v2v_error *err);
/* Look at the kinds in LOOKS (POLL_BITs) for R now. */
extern void orch_look (struct orch *o, struct vm_run *r, unsigned looks);
/* Delete the second snapshot set found for R, if any. */
extern void orch_delete_extra_snapshots (struct orch *o, struct vm_run *r);
/* Delete R's snapshots; returns how many could not be. */
extern unsigned orch_delete_snapshots (struct orch *o, struct vm_run *r);

#endif /* V2V_ORCH_INTERNAL_H */
