/* The Windows rework steps, in the order they run.  Each is a file in
 * windows/; the drivers are copied before the registry names them, and
 * uefi-fallback runs last because it swaps C: for the ESP on /.
 */
#include "windows.h"

extern const struct convert_step convert_step_win_drivers;
extern const struct convert_step convert_step_win_storage;
extern const struct convert_step convert_step_win_devicepath;
extern const struct convert_step convert_step_win_aws;
extern const struct convert_step convert_step_win_firstboot;
extern const struct convert_step convert_step_win_uefi;

const struct convert_step *const convert_internal_windows_steps[] = {
  &convert_step_win_drivers,
  &convert_step_win_storage,
  &convert_step_win_devicepath,
  &convert_step_win_aws,
  &convert_step_win_firstboot,
  &convert_step_win_uefi,
  NULL
};
