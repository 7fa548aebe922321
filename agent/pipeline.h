/* The one data path of "v2v-agent convert" and "v2v-agent run":
 *
 *   discover -> probe -> check -> overlay -> convert -> commit or
 *   discard -> report
 *
 * The devices are written only by the commit, after every step of the
 * conversion succeeded.  Both commands call agent_pipeline_run; "run"
 * adds what a pod needs through the hooks (the conversion in a child
 * process, the status object, Events), "convert" a summary on stderr.
 */
#ifndef V2V_AGENT_PIPELINE_H
#define V2V_AGENT_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "agent.h"
#include "blockdev.h"
#include "convert.h"
#include "error.h"
#include "result.h"
#include "status.h"

/* What became of each disk. */
enum agent_disk_write {
  AGENT_DISK_UNTOUCHED,         /* read-only, or the overlay was discarded */
  AGENT_DISK_COMMITTED,         /* the converted guest is on the disk */
  AGENT_DISK_NOT_COMMITTED,     /* the commit failed before this disk */
  AGENT_DISK_WRITTEN_DIRECTLY,  /* --no-overlay: written in place */
};
extern const char *agent_disk_write_name (enum agent_disk_write w);

/* Every hook may be NULL. */
struct agent_pipeline_hooks {
  void *opaque;
  /* Entering PHASE; MESSAGE says what happens now. */
  void (*phase) (void *opaque, enum agent_phase phase, const char *message);
  /* A disk is not ready yet and will be waited for. */
  void (*device_retry) (void *opaque, const char *message);
  /* Something the user should hear of that does not stop the run. */
  void (*warning) (void *opaque, const char *message);
  /* Run the conversion in place of convert_run ("run": in a child).
   * Returns a convert_status with *RET_REPORT set, or -1 with ERR set
   * if the conversion did not finish.
   */
  int (*convert) (void *opaque, const struct blockdev_list *disks,
                  const struct convert_options *opts,
                  struct json_object **ret_report, struct v2v_error *err);
  /* After CONVERT returned -1: AGENT_RESULT_CANCELLED or _TIMEOUT if the
   * run was stopped on purpose, else AGENT_RESULT_INTERNAL.
   */
  enum agent_result (*stopped) (void *opaque);
  /* The conversion finished with REPORT (borrowed), before any commit. */
  void (*converted) (void *opaque, struct json_object *report);
  /* The commit to the disks begins (BEGINS) or has ended. */
  void (*commit) (void *opaque, bool begins);
};

/* The typed result of one run. */
struct agent_pipeline_result {
  enum agent_result result;
  /* Why it failed, or the one-line summary of a success. */
  char message[V2V_ERROR_MAX];
  /* The report as written to --report (a new reference, or NULL when
   * the run ended before there was one to write).
   */
  struct json_object *report;
  /* The guest's product name from the report, or NULL (points into
   * REPORT).
   */
  const char *product;
  size_t nr_disks;
  enum agent_disk_write *disks; /* per disk, in the order of the list */
};

/* Run the pipeline with the options in A (which it may update: the
 * keys and the overlay directory it chose).  Always fills in *RET;
 * release it with agent_pipeline_result_free.  Returns the exit code.
 */
extern int agent_pipeline_run (struct agent_convert_args *a,
                               const struct agent_pipeline_hooks *hooks,
                               struct agent_pipeline_result *ret);
extern void agent_pipeline_result_free (struct agent_pipeline_result *r);

#endif /* V2V_AGENT_PIPELINE_H */
