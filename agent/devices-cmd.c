#include "agent.h"
#include "log.h"

int
agent_cmd_devices (int argc, char **argv)
{
  (void) argc;
  (void) argv;
  log_error ("devices: not implemented yet");
  return AGENT_EXIT_INTERNAL;
}
