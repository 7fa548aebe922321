/* The phase table: the pipeline each VM goes through, in order.  Each
 * phase is a file, phase-NAME.c, defining orch_phase_NAME; see
 * orch-internal.h for what the fields mean and docs/hacking.md for how
 * to add one.
 */
#include <string.h>

#include "orch-internal.h"

const struct orch_phase *const orch_phases[] = {
  &orch_phase_validate,
  &orch_phase_presnapshot,
  &orch_phase_stop,
  &orch_phase_snapshot,
  &orch_phase_share,
  &orch_phase_volumes,
  &orch_phase_bind,
  &orch_phase_convert,
  &orch_phase_vm,
  &orch_phase_verify,
  &orch_phase_cleanup,
};
const size_t orch_nr_phases = sizeof orch_phases / sizeof orch_phases[0];

size_t
orch_phase_index (const char *name)
{
  for (size_t i = 0; i < orch_nr_phases; i++)
    if (strcmp (orch_phases[i]->name, name) == 0)
      return i;
  return orch_nr_phases;
}
