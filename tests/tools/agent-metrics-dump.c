/* Print the agent's metrics for a run that went through every phase
 * and ended, for tests/tools/prom-parse.py to check with the reference
 * Prometheus parser.
 */
#include <stdio.h>

#include "status.h"

int
main (void)
{
  struct agent_status *st = agent_status_new ();
  struct buf b;
  int r;

  if (st == NULL)
    return 1;
  agent_status_set_accel (st, "kvm");
  for (int p = AGENT_PHASE_DEVICES; p < AGENT_PHASE_DONE; p++)
    agent_status_set_phase (st, p);
  agent_status_add_warning (st, "a \"quoted\"\nwarning");
  agent_status_finish (st, AGENT_OUTCOME_SUCCEEDED, NULL, 0, "converted");
  buf_init (&b, 1 << 20);
  r = agent_status_metrics (st, &b);
  if (r == 0)
    fwrite (b.data, 1, b.len, stdout);
  buf_free (&b);
  agent_status_free (st);
  return r == 0 ? 0 : 1;
}
