/* libFuzzer target: the migration plan (orchestrator/plan.c), a file the
 * user writes.  plan_parse takes any bytes; it must return a plan or an
 * error, never crash, and the plan must free cleanly.
 */
#include <stddef.h>
#include <stdint.h>

#include "plan.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct v2v_error err = { 0 };
  struct plan *p = NULL;

  if (plan_parse ((const char *) data, size, &p, &err) == 0) {
    /* The lookups the phases make on a loaded plan. */
    plan_storage_class (p, "gp3");
    for (size_t i = 0; i < p->nr_nets; i++)
      plan_network (p, p->nets[i].subnet);
    plan_free (p);
  }
  return 0;
}
