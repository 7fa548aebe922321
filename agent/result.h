/* How a run of "v2v-agent convert" or "v2v-agent run" ends: one table
 * {result, name, exit code, outcome, reason} that the report's "status",
 * the exit code, the termination message, the Pod's result annotation
 * and the docs' exit-code lists (docs/operations.md, docs/agent-run.md,
 * docs/report.md; checked by tests/unit/agent-results-docs.py) all come
 * from.
 */
#ifndef V2V_AGENT_RESULT_H
#define V2V_AGENT_RESULT_H

#include <stdbool.h>

#include "convert.h"
#include "string-table.h"

/* Exit codes of v2v-agent.  Each refusal has its own code so a
 * controller can tell them apart without parsing messages.
 */
enum agent_exit {
  AGENT_EXIT_OK = 0,            /* converted, or already converted */
  AGENT_EXIT_INTERNAL = 1,
  AGENT_EXIT_USAGE = 2,
  AGENT_EXIT_DEVICE = 3,        /* a disk is missing, unreadable, read-only */
  AGENT_EXIT_NO_OS = 4,
  AGENT_EXIT_MULTI_OS = 5,
  AGENT_EXIT_UNSUPPORTED = 6,   /* distro, arch, Windows version, ... */
  AGENT_EXIT_XEN_PV_ONLY = 7,
  AGENT_EXIT_NO_SPACE = 8,
  AGENT_EXIT_FS_STATE = 9,      /* hibernated or read-only filesystem */
  AGENT_EXIT_LUKS_KEY = 10,
  AGENT_EXIT_STEP_FAILED = 11,  /* a rework step failed; disks untouched */
  AGENT_EXIT_COMMIT = 12,       /* writing the overlays back failed */
  AGENT_EXIT_VIRTIO_WIN = 13,   /* Windows: VIRTIO_WIN unset or unusable */
  AGENT_EXIT_BITLOCKER = 14,    /* a BitLocker volume and no (working) key */
  AGENT_EXIT_CANCELLED = 15,    /* run: signal, --timeout, POST /shutdown */
  AGENT_EXIT_REPORT = 16,       /* done, but --report could not be written */
  /* 17-19: reserved */
  AGENT_EXIT_COMPAT_FIXES = 20, /* --compat=check: bootable once fixed */
  AGENT_EXIT_COMPAT_WONT_BOOT = 21, /* --compat: will not boot on SATA */
  AGENT_EXIT_UNHEALTHY = 22,    /* verify: the probe reports problems */
  AGENT_EXIT_NO_BOOT = 23,      /* verify: the guest did not boot */
  AGENT_EXIT_BOOT_TIMEOUT = 24, /* verify: no health line in time */
};

/* How a run ended, as the status, metrics and termination message say:
 * agent_outcome_to_string gives "Succeeded", "Refused", "DeviceError",
 * "Cancelled", "Failed" (and "Running" before the end).
 */
enum agent_outcome {
  AGENT_OUTCOME_RUNNING,
  AGENT_OUTCOME_SUCCEEDED,      /* converted, already converted, or skipped */
  AGENT_OUTCOME_REFUSED,        /* the guest cannot be converted (a class) */
  AGENT_OUTCOME_DEVICE_ERROR,   /* disks missing, unreadable, commit failed */
  AGENT_OUTCOME_CANCELLED,      /* signal, --timeout or POST /shutdown */
  AGENT_OUTCOME_FAILED,         /* a step or the agent itself failed */
  AGENT_OUTCOME__COUNT
};

/* "Unknown" for a value out of range; from_string: the value or -EINVAL. */
DECLARE_STRING_TABLE_LOOKUP (agent_outcome, enum agent_outcome);

/* Every way a run can end.  The first rows succeed. */
enum agent_result {
  AGENT_RESULT_CONVERTED,
  AGENT_RESULT_ALREADY_CONVERTED,
  AGENT_RESULT_PLANNED,             /* --dry-run */
  AGENT_RESULT_COMPAT_BOOTABLE,     /* --compat: boots on SATA + e1000e */
  AGENT_RESULT_COMPAT_FIXED,        /* --compat=fix applied its fixes */
  AGENT_RESULT_SKIPPED,             /* run --skip-conversion */
  AGENT_RESULT_INTERNAL,
  AGENT_RESULT_USAGE,
  AGENT_RESULT_DEVICE,
  AGENT_RESULT_NO_OS,
  AGENT_RESULT_MULTI_OS,
  AGENT_RESULT_UNSUPPORTED,
  AGENT_RESULT_XEN_PV_ONLY,
  AGENT_RESULT_NO_SPACE,
  AGENT_RESULT_FS_STATE,
  AGENT_RESULT_LUKS_KEY,
  AGENT_RESULT_STEP_FAILED,
  AGENT_RESULT_COMMIT_FAILED,
  AGENT_RESULT_VIRTIO_WIN,
  AGENT_RESULT_BITLOCKER,
  AGENT_RESULT_CANCELLED,
  AGENT_RESULT_TIMEOUT,
  AGENT_RESULT_REPORT_NOT_WRITTEN,
  AGENT_RESULT_COMPAT_NEEDS_FIXES,
  AGENT_RESULT_COMPAT_WONT_BOOT,
  /* v2v-agent verify's verdicts. */
  AGENT_RESULT_VERIFY_HEALTHY,
  AGENT_RESULT_VERIFY_UNHEALTHY,
  AGENT_RESULT_VERIFY_NO_BOOT,
  AGENT_RESULT_VERIFY_TIMEOUT,
  AGENT_RESULT__COUNT
};

/* Which commands can end with a result (a bit set). */
enum agent_result_command {
  AGENT_RESULT_CONVERT = 1 << 0,
  AGENT_RESULT_RUN     = 1 << 1,
  AGENT_RESULT_VERIFY  = 1 << 2,
};

struct agent_result_info {
  const char *name;             /* the report's "status": "commit-failed" */
  const char *reason;           /* CamelCase, for the status: "CommitFailed" */
  const char *meaning;          /* one line, for the docs test */
  enum agent_result result;
  int exit_code;                /* enum agent_exit */
  enum agent_outcome outcome;
  unsigned commands;            /* enum agent_result_command bits */
};

/* The row of RESULT (a row of AGENT_RESULT_INTERNAL for a value outside
 * the table).  Never NULL; the rows are static.
 */
extern const struct agent_result_info *agent_result_info
  (enum agent_result result);

/* The result a conversion's status stands for.  CONVERT_OK is
 * "converted", or what OPTS make of it: planned for a dry run, and
 * bootable (or fixed, with FIXES_APPLIED) in compatibility mode.
 */
extern enum agent_result agent_result_from_convert
  (enum convert_status status, const struct convert_options *opts,
   bool fixes_applied);

/* The result named NAME (a report's "status") that COMMANDS (enum
 * agent_result_command bits) can end with, or -EINVAL.
 */
extern int agent_result_from_name (const char *name, unsigned commands);

static inline bool
agent_result_succeeded (enum agent_result result)
{
  return agent_result_info (result)->outcome == AGENT_OUTCOME_SUCCEEDED;
}

#endif /* V2V_AGENT_RESULT_H */
