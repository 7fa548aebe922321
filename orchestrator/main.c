/* v2v-orchestrator: the EC2 -> KubeVirt pipeline around the agent. */
#include <stdio.h>
#include <string.h>

int
main (int argc, char **argv)
{
  if (argc > 1 && strcmp (argv[1], "--version") == 0) {
    printf ("v2v-orchestrator %s\n", V2V_VERSION);
    return 0;
  }
  fprintf (stderr, "v2v-orchestrator: the migration pipeline is not "
           "implemented yet (see issue 7)\n");
  return 1;
}
