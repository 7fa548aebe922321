/* The health line: what the guest's first-boot probe prints on its
 * serial consoles (convert/linux/health-probe.sh, and the Windows first
 * boot script), found in console output and checked here, in one place
 * for every reader (v2v-agent verify; the orchestrator's health gate).
 *
 *   V2V-HEALTH {"version":1,"probe":"linux","status":"healthy",
 *               "problems":[],...}
 *
 * The probe judges the guest itself ("status", "problems"); a reader
 * takes that judgement as it is.  The fields are in docs/agent-run.md.
 */
#ifndef V2V_COMMON_HEALTH_H
#define V2V_COMMON_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct json_object;

#define HEALTH_LINE_PREFIX "V2V-HEALTH "
#define HEALTH_VERSION 1

/* Find the first complete health line in TEXT (LEN bytes of console
 * output: it may hold NULs, kernel messages and partial lines) whose
 * JSON is a valid report.  A line is complete once its end of line has
 * been seen; the prefix may follow other text on the line (a kernel log
 * timestamp).  A line that does not parse is skipped when a later one
 * does: the kernel log's copy of a long report is cut short.
 *
 * Returns 1 and sets *RET (a new reference: the caller puts it); 0 if
 * TEXT holds no complete line yet; -EBADMSG if it holds complete lines
 * and none of them is valid, with ERR saying why the last one is not.
 */
extern int health_line_find (const char *text, size_t len,
                             struct json_object **ret,
                             struct v2v_error *err);

/* Check that REPORT is a version-1 report: an object with "status"
 * "healthy" or "unhealthy", "problems" an array of strings, empty
 * exactly when healthy.  0, or -EBADMSG with ERR set.
 */
extern int health_report_check (struct json_object *report,
                                struct v2v_error *err);

/* The report's verdict and its problems joined with "; " into BUF. */
extern bool health_report_healthy (struct json_object *report);
extern void health_report_problems (struct json_object *report, char *buf,
                                    size_t len);

#endif /* V2V_COMMON_HEALTH_H */
