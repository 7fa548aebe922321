/* The run's Prometheus metrics (see status.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "status-internal.h"
#include "utf8.h"

/* Prometheus label values escape backslash, double quote and newline
 * (exposition format 0.0.4, "Text format details").
 */
static int
prom_label (struct buf *out, const char *v)
{
  int r = 0;

  for (const char *p = v; *p && r == 0; p++) {
    switch (*p) {
    case '\\': r = buf_append (out, "\\\\", 2); break;
    case '"':  r = buf_append (out, "\\\"", 2); break;
    case '\n': r = buf_append (out, "\\n", 2); break;
    default:   r = buf_append (out, p, 1); break;
    }
  }
  return r;
}

static int
prom_header (struct buf *out, const char *name, const char *type,
             const char *help)
{
  return buf_printf (out, "# HELP %s %s\n# TYPE %s %s\n",
                     name, help, name, type);
}

/* NAME{LABEL="VALUE"} followed by the value in FMT. */
static int
prom_sample (struct buf *out, const char *name, const char *label,
             const char *value, const char *fmt, ...)
  __attribute__ ((format (printf, 5, 6)));

static int
prom_sample (struct buf *out, const char *name, const char *label,
             const char *value, const char *fmt, ...)
{
  CLEANUP_FREE char *v = NULL;
  va_list ap;
  int r;

  va_start (ap, fmt);
  r = vasprintf (&v, fmt, ap);
  va_end (ap);
  if (r < 0)
    return -ENOMEM;

  if ((r = buf_printf (out, "%s{%s=\"", name, label)) < 0 ||
      (r = prom_label (out, value)) < 0 ||
      (r = buf_printf (out, "\"} %s\n", v)) < 0)
    return r;
  return 0;
}

/* The accelerator label keeps to a fixed set, so a surprising value
 * cannot create new series.
 */
static const char *
accel_label (const char *accel)
{
  if (accel && strcmp (accel, "kvm") == 0)
    return "kvm";
  if (accel && strcmp (accel, "tcg") == 0)
    return "tcg";
  return "unknown";
}

int
agent_status_metrics (struct agent_status *st, struct buf *out)
{
  int r = 0;

  pthread_mutex_lock (&st->lock);
#define TRY(e) do { if ((r = (e)) < 0) goto out; } while (0)
  TRY (prom_header (out, "v2v_agent_phase", "gauge",
                    "The phase the conversion run is in (1) or not (0)."));
  for (int p = 0; p < AGENT_PHASE__COUNT; p++)
    TRY (prom_sample (out, "v2v_agent_phase", "phase",
                      agent_phase_to_string (p), "%d", p == (int) st->phase));

  TRY (prom_header (out, "v2v_agent_progress_percent", "gauge",
                    "Progress of the conversion run, 0 to 100."));
  TRY (buf_printf (out, "v2v_agent_progress_percent %d\n", st->progress));

  TRY (prom_header (out, "v2v_agent_phase_duration_seconds", "gauge",
                    "Seconds spent in each phase that has started."));
  for (int p = 0; p < AGENT_PHASE_DONE; p++)
    if (st->phase_started[p])
      TRY (prom_sample (out, "v2v_agent_phase_duration_seconds", "phase",
                        agent_phase_to_string (p), "%.6f",
                        agent_status_internal_phase_seconds (st, p)));

  TRY (prom_header (out, "v2v_agent_conversions_total", "counter",
                    "Conversion runs that ended, by outcome."));
  for (int o = AGENT_OUTCOME_RUNNING + 1; o < AGENT_OUTCOME__COUNT; o++)
    TRY (prom_sample (out, "v2v_agent_conversions_total", "outcome",
                      agent_outcome_to_string (o), "%" PRIu64,
                      st->conversions[o]));

  TRY (prom_header (out, "v2v_agent_accelerator_info", "gauge",
                    "The accelerator the appliance uses (kvm, tcg or "
                    "unknown)."));
  TRY (prom_sample (out, "v2v_agent_accelerator_info", "accelerator",
                    accel_label (st->accel), "1"));

  TRY (prom_header (out, "v2v_agent_warnings", "gauge",
                    "Distinct warnings raised by the conversion run."));
  TRY (buf_printf (out, "v2v_agent_warnings %zu\n",
                   st->nr_warnings + st->warnings_dropped));
#undef TRY
 out:
  pthread_mutex_unlock (&st->lock);
  return r;
}
