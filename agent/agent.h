#ifndef V2V_AGENT_H
#define V2V_AGENT_H

/* Exit codes of v2v-agent; documented in docs/operations.md. */
enum agent_exit {
  AGENT_EXIT_OK = 0,
  AGENT_EXIT_INTERNAL = 1,
  AGENT_EXIT_USAGE = 2,
};

/* Long enough for a kernel to print its banner under working KVM (well
 * under a second), short enough not to delay a pod much when KVM is broken.
 */
#define ACCEL_PROBE_TIMEOUT_MS 6000

extern int agent_cmd_convert (int argc, char **argv);
extern int agent_cmd_devices (int argc, char **argv);

#endif /* V2V_AGENT_H */
