/* The one table of how a run ends; see result.h. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "result.h"
#include "string-table.h"

#define BOTH (AGENT_RESULT_CONVERT | AGENT_RESULT_RUN)
#define RUN AGENT_RESULT_RUN
#define VERIFY AGENT_RESULT_VERIFY
#define ROWC(r, n, code, o, why, m, cmds) \
  [AGENT_RESULT_##r] = { .result = AGENT_RESULT_##r, .name = (n),    \
                         .exit_code = AGENT_EXIT_##code,              \
                         .outcome = AGENT_OUTCOME_##o, .reason = (why), \
                         .meaning = (m), .commands = (cmds) }
#define ROW(r, n, code, o, why, m) ROWC (r, n, code, o, why, m, BOTH)

static const struct agent_result_info results[AGENT_RESULT__COUNT] = {
  ROW (CONVERTED, "converted", OK, SUCCEEDED, "Converted",
       "converted"),
  ROW (ALREADY_CONVERTED, "already-converted", OK, SUCCEEDED,
       "AlreadyConverted", "already converted (nothing changed)"),
  ROW (PLANNED, "planned", OK, SUCCEEDED, "Planned",
       "--dry-run: the plan (nothing was written)"),
  ROW (COMPAT_BOOTABLE, "bootable", OK, SUCCEEDED, "CompatBootable",
       "--compat: bootable on SATA + e1000e as it is"),
  ROW (COMPAT_FIXED, "fixed", OK, SUCCEEDED, "CompatFixed",
       "--compat=fix: the fixes were applied and the guest is bootable"),
  ROWC (SKIPPED, "skipped", OK, SUCCEEDED, "ConversionSkipped",
        "run --skip-conversion: the disks were found and checked", RUN),
  ROWC (INTERNAL, "internal-error", INTERNAL, FAILED, "InternalError",
        "internal error", BOTH | VERIFY),
  ROWC (USAGE, "usage", USAGE, FAILED, "Usage",
        "usage error, before anything starts", BOTH | VERIFY),
  ROW (DEVICE, "device-error", DEVICE, DEVICE_ERROR, "DeviceError",
       "device error: a disk missing, unreadable, read-only, or an "
       "overlay problem"),
  ROW (NO_OS, "no-os", NO_OS, REFUSED, "NoOperatingSystem",
       "no operating system found"),
  ROW (MULTI_OS, "multiple-os", MULTI_OS, REFUSED,
       "MultipleOperatingSystems",
       "several operating systems and no --root"),
  ROW (UNSUPPORTED, "unsupported", UNSUPPORTED, REFUSED, "Unsupported",
       "unsupported: distribution, architecture, Windows version, no "
       "initramfs tool, no kernel with virtio"),
  ROW (XEN_PV_ONLY, "xen-pv-only", XEN_PV_ONLY, REFUSED, "XenPVOnly",
       "only Xen PV kernels"),
  ROW (NO_SPACE, "no-space", NO_SPACE, REFUSED, "NoSpace",
       "less than 50 MB free on / or /boot"),
  ROW (FS_STATE, "fs-state", FS_STATE, REFUSED, "FilesystemState",
       "hibernated, or a read-only or corrupt filesystem"),
  ROW (LUKS_KEY, "luks-key", LUKS_KEY, REFUSED, "LUKSKey",
       "LUKS device without a (working) key"),
  ROW (STEP_FAILED, "step-failed", STEP_FAILED, FAILED, "StepFailed",
       "a rework step failed (the disks are untouched)"),
  ROW (COMMIT_FAILED, "commit-failed", COMMIT, DEVICE_ERROR, "CommitFailed",
       "the overlay commit failed (the journal says which disks were "
       "written)"),
  ROW (VIRTIO_WIN, "no-virtio-win", VIRTIO_WIN, REFUSED, "VirtioWin",
       "Windows: no usable virtio-win drivers"),
  ROW (BITLOCKER, "bitlocker", BITLOCKER, REFUSED, "BitLocker",
       "a BitLocker volume without a (working) key"),
  ROWC (CANCELLED, "cancelled", CANCELLED, CANCELLED, "Cancelled",
        "run: cancelled by SIGTERM/SIGINT or POST /shutdown", RUN),
  ROWC (TIMEOUT, "timeout", CANCELLED, CANCELLED, "Timeout",
        "run: cancelled by --timeout", RUN),
  ROW (REPORT_NOT_WRITTEN, "report-not-written", REPORT, FAILED,
       "ReportNotWritten",
       "the conversion finished but --report FILE could not be written"),
  ROW (COMPAT_NEEDS_FIXES, "bootable-with-fixes", COMPAT_FIXES, REFUSED,
       "CompatNeedsFixes",
       "--compat: bootable on SATA + e1000e only after fixes"),
  ROW (COMPAT_WONT_BOOT, "will-not-boot", COMPAT_WONT_BOOT, REFUSED,
       "CompatWillNotBoot", "--compat: will not boot on SATA + e1000e"),
  ROWC (VERIFY_HEALTHY, "healthy", OK, SUCCEEDED, "Healthy",
        "verify: the guest booted and its health probe is content", VERIFY),
  ROWC (VERIFY_UNHEALTHY, "unhealthy", UNHEALTHY, FAILED, "Unhealthy",
        "verify: the guest booted and its health probe reports problems",
        VERIFY),
  ROWC (VERIFY_NO_BOOT, "no-boot", NO_BOOT, FAILED, "NoBoot",
        "verify: the guest did not boot", VERIFY),
  ROWC (VERIFY_TIMEOUT, "boot-timeout", BOOT_TIMEOUT, FAILED, "BootTimeout",
        "verify: no health line within --timeout", VERIFY),
};

static const char *const agent_outcome_table[AGENT_OUTCOME__COUNT] = {
  [AGENT_OUTCOME_RUNNING]      = "Running",
  [AGENT_OUTCOME_SUCCEEDED]    = "Succeeded",
  [AGENT_OUTCOME_REFUSED]      = "Refused",
  [AGENT_OUTCOME_DEVICE_ERROR] = "DeviceError",
  [AGENT_OUTCOME_CANCELLED]    = "Cancelled",
  [AGENT_OUTCOME_FAILED]       = "Failed",
};
DEFINE_STRING_TABLE_LOOKUP (agent_outcome, enum agent_outcome, "Unknown")

const struct agent_result_info *
agent_result_info (enum agent_result result)
{
  if ((unsigned) result >= AGENT_RESULT__COUNT)
    result = AGENT_RESULT_INTERNAL;
  return &results[result];
}

int
agent_result_from_name (const char *name, unsigned commands)
{
  for (size_t i = 0; name && i < AGENT_RESULT__COUNT; i++)
    if (results[i].name && (results[i].commands & commands) &&
        strcmp (results[i].name, name) == 0)
      return (int) i;
  return -EINVAL;
}

enum agent_result
agent_result_from_convert (enum convert_status status,
                           const struct convert_options *opts,
                           bool fixes_applied)
{
  switch (status) {
  case CONVERT_OK:
    if (opts->dry_run)
      return AGENT_RESULT_PLANNED;
    if (opts->compat != CONVERT_COMPAT_OFF)
      return fixes_applied ? AGENT_RESULT_COMPAT_FIXED
                           : AGENT_RESULT_COMPAT_BOOTABLE;
    return AGENT_RESULT_CONVERTED;
  case CONVERT_ALREADY_DONE:       return AGENT_RESULT_ALREADY_CONVERTED;
  case CONVERT_ERR_INTERNAL:       return AGENT_RESULT_INTERNAL;
  case CONVERT_ERR_NO_OS:          return AGENT_RESULT_NO_OS;
  case CONVERT_ERR_MULTI_OS:       return AGENT_RESULT_MULTI_OS;
  case CONVERT_ERR_UNSUPPORTED:    return AGENT_RESULT_UNSUPPORTED;
  case CONVERT_ERR_XEN_PV_ONLY:    return AGENT_RESULT_XEN_PV_ONLY;
  case CONVERT_ERR_NO_SPACE:       return AGENT_RESULT_NO_SPACE;
  case CONVERT_ERR_FS_STATE:       return AGENT_RESULT_FS_STATE;
  case CONVERT_ERR_LUKS_KEY:       return AGENT_RESULT_LUKS_KEY;
  case CONVERT_ERR_FAILED:         return AGENT_RESULT_STEP_FAILED;
  case CONVERT_ERR_VIRTIO_WIN:     return AGENT_RESULT_VIRTIO_WIN;
  case CONVERT_ERR_BITLOCKER:      return AGENT_RESULT_BITLOCKER;
  case CONVERT_COMPAT_NEEDS_FIXES: return AGENT_RESULT_COMPAT_NEEDS_FIXES;
  case CONVERT_COMPAT_WONT_BOOT:   return AGENT_RESULT_COMPAT_WONT_BOOT;
  }
  return AGENT_RESULT_INTERNAL;
}
