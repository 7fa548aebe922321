/* v2v-orchestrator's commands (main.c: migrate, status, cleanup;
 * cmd-inventory.c: inventory, plan init), their exit codes and the EC2
 * client they make.  For the executable only.
 */
#ifndef V2V_ORCH_COMMANDS_H
#define V2V_ORCH_COMMANDS_H

#include <stdbool.h>

#include "ec2.h"
#include "plan.h"

enum {
  EXIT_OK = 0,
  EXIT_SOME_FAILED = 1,         /* migrate: at least one VM failed */
  EXIT_USAGE = 2,
  EXIT_PLAN = 3,                /* the plan is invalid */
  EXIT_CONFIG = 4,              /* credentials or cluster access */
  EXIT_ERROR = 5,               /* failed before any VM started */
};

/* A client for REGION (NULL: the environment's) with PC's credentials
 * (secretDir or profile; none: the environment and shared file), named
 * the source or TARGET account in messages, its retries logged.
 */
extern int orch_cli_ec2_client (const char *region,
                                const struct plan_credentials *pc,
                                bool target, struct ec2_client **ret,
                                struct v2v_error *err);

/* The exit code of an EC2 call's error R. */
extern int orch_cli_exit_code (int r);

extern int orch_cmd_inventory (int argc, char **argv);
extern int orch_cmd_plan (int argc, char **argv);

#endif /* V2V_ORCH_COMMANDS_H */
