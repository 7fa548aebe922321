/* The state of one "v2v-agent run", shared by the phase runner (which
 * writes it), the reporter thread (annotations, Events, --status-url),
 * the termination message and the HTTP endpoints (which read it).
 *
 * Every function takes the object's mutex, so any thread may call any of
 * them.  Readers get copies (JSON objects or text they own), never
 * pointers into the state.
 */
#ifndef V2V_AGENT_STATUS_H
#define V2V_AGENT_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "result.h"

struct json_object;

/* The phases of a run, in order.  agent_phase_to_string gives the name used
 * in annotations, Events, logs and metric labels ("devices", ...).
 */
enum agent_phase {
  AGENT_PHASE_STARTING,
  AGENT_PHASE_DEVICES,          /* discover and wait for the disks */
  AGENT_PHASE_PROBE,            /* partition tables and filesystems */
  AGENT_PHASE_OVERLAY,          /* copy-on-write overlays in front */
  AGENT_PHASE_INSPECT,          /* appliance launch and inspection */
  AGENT_PHASE_CONVERT,          /* the rework steps */
  AGENT_PHASE_COMMIT,           /* overlays written back to the disks */
  AGENT_PHASE_REPORT,           /* final status out */
  AGENT_PHASE_DONE,
  AGENT_PHASE__COUNT
};

/* "unknown" for a value out of range; from_string: the value or -EINVAL. */
DECLARE_STRING_TABLE_LOOKUP (agent_phase, enum agent_phase);

struct agent_status;

/* Returns NULL on out of memory. */
extern struct agent_status *agent_status_new (void);
extern void agent_status_free (struct agent_status *st);

/* Enter PHASE: ends the previous phase's clock (CLOCK_MONOTONIC) and
 * starts this one's.  Progress never goes backwards: it is raised to
 * the phase's floor (agent_phase_floor) if below it.
 */
extern void agent_status_set_phase (struct agent_status *st,
                                    enum agent_phase phase);
extern enum agent_phase agent_status_phase (struct agent_status *st);
/* The progress percent at which PHASE starts (DONE: 100). */
extern int agent_phase_floor (enum agent_phase phase);

/* 0..100; values below the current progress are ignored. */
extern void agent_status_set_progress (struct agent_status *st, int percent);
/* A short human line about what is happening now ("rebuilding the
 * initramfs"); copied.
 */
extern void agent_status_set_message (struct agent_status *st,
                                      const char *msg);
extern void agent_status_set_accel (struct agent_status *st,
                                    const char *accel);
/* Copied; duplicates are kept once. */
extern void agent_status_add_warning (struct agent_status *st,
                                      const char *msg);

/* The convert report (docs/report.md), read into the status
 * (report-read.h) and kept: its guest, hints, accelerator and warnings
 * feed the status JSON, the termination message and /inspection.
 * Returns 0, or -EINVAL (in ERR) for a report that breaks the contract,
 * which is then not kept.
 */
extern int agent_status_set_report (struct agent_status *st,
                                    struct json_object *report,
                                    struct v2v_error *err);

/* End the run: sets the outcome, the reason (a short CamelCase class
 * such as "NoOperatingSystem", "Cancelled", or NULL), the exit code and
 * a one-line message; moves the phase to DONE and progress to 100 on
 * success.  Counts the outcome for the conversions_total metric.
 */
extern void agent_status_finish (struct agent_status *st,
                                 enum agent_outcome outcome,
                                 const char *reason, int exit_code,
                                 const char *message);
extern enum agent_outcome agent_status_outcome (struct agent_status *st);

/* A new object the caller owns:
 *   { "phase", "progress", "message", "outcome", "reason", "exitCode",
 *     "accelerator", "guest": {...} | null, "kubevirtHints": {...} | null,
 *     "warnings": [...], "phaseSeconds": { "devices": 0.1, ... },
 *     "startTime", "endTime" (RFC 3339 UTC or null) }
 */
extern struct json_object *agent_status_to_json (struct agent_status *st);

/* The termination message: compact JSON of outcome, reason, exitCode,
 * message, guest (type, distro, product, version, arch, firmware),
 * kubevirtHints and warnings, at most MAX bytes (Kubernetes reads 4096).
 * Drops warnings from the end, then the guest, then truncates the
 * message, until it fits; always valid JSON.  Writes into OUT.
 */
extern int agent_status_termination_message (struct agent_status *st,
                                             size_t max, struct buf *out);

/* Prometheus text exposition format (version 0.0.4):
 *   v2v_agent_phase{phase="..."} 1 for the current phase, 0 for others
 *   v2v_agent_progress_percent
 *   v2v_agent_phase_duration_seconds{phase="..."} for started phases
 *   v2v_agent_conversions_total{outcome="..."} for every outcome
 *   v2v_agent_accelerator_info{accelerator="kvm|tcg|unknown"} 1
 *   v2v_agent_warnings
 */
extern int agent_status_metrics (struct agent_status *st, struct buf *out);

/* virt-v2v-inspector-style XML (<v2v-inspection>) of the inspected guest,
 * or -ENOENT before inspection.
 */
extern int agent_status_inspection_xml (struct agent_status *st,
                                        struct buf *out);

/* The warnings as a JSON array (a new object). */
extern struct json_object *agent_status_warnings_json (struct agent_status *st);

#endif /* V2V_AGENT_STATUS_H */
