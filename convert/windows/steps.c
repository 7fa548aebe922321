/* The Windows family: its steps, in the order they run, its
 * compatibility fixes, and the callbacks inspect.c, drivers.c and
 * compat.c provide.  Each step is a file in windows/; the drivers are
 * copied before the registry names them, and uefi-fallback runs last
 * because it swaps C: for the ESP on /.
 */
#include "windows.h"

extern const struct convert_step convert_step_win_drivers;
extern const struct convert_step convert_step_win_storage;
extern const struct convert_step convert_step_win_devicepath;
extern const struct convert_step convert_step_win_aws;
extern const struct convert_step convert_step_win_firstboot;
extern const struct convert_step convert_step_win_uefi;
extern const struct convert_step convert_step_win_compat_storahci;

static const struct convert_step *const win_steps[] = {
  &convert_step_win_drivers,
  &convert_step_win_storage,
  &convert_step_win_devicepath,
  &convert_step_win_aws,
  &convert_step_win_firstboot,
  &convert_step_win_uefi,
  NULL
};

/* What --compat=fix may run, in order. */
static const struct convert_step *const win_compat_steps[] = {
  &convert_step_win_compat_storahci,
  &convert_step_win_uefi,
  NULL
};

/* A Windows guest's health probe is part of its first boot script. */
static const struct convert_step *const win_no_steps[] = { NULL };

const struct convert_os convert_internal_os_windows = {
  .name = "windows",
  .inspect = win_inspect,
  .prepare = win_prepare,
  .steps = win_steps,
  .compat_steps = win_compat_steps,
  .probe_steps = win_no_steps,
  .preflight = win_preflight,
  .guest_json = win_guest_json,
  .report_json = win_report_json,
  .hints = win_hints,
  .free = win_free,
};
