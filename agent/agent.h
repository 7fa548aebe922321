#ifndef V2V_AGENT_H
#define V2V_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include "blockdev.h"
#include "convert.h"
#include "error.h"
#include "result.h"

struct json_object;

/* What "convert" and "run" both take on the command line (options.c). */
struct agent_convert_args {
  struct convert_options opts;
  struct blockdev_options bopts;
  char **keys;                  /* resolved --key values, NULL-terminated */
  size_t nkeys;
  const char *report_file, *overlay_dir;
  char overlay_dir_buf[512];    /* the default overlay_dir, once chosen */
  bool overlay;                 /* false: --no-overlay */
  bool skip_conversion;         /* run --skip-conversion */
};

/* getopt_long entries for agent_convert_option; the letters are theirs. */
#define AGENT_CONVERT_LONGOPTS                                  \
  { "report", required_argument, NULL, 'r' },                   \
  { "root", required_argument, NULL, 'R' },                     \
  { "key", required_argument, NULL, 'k' },                      \
  { "cloud-init", required_argument, NULL, 'c' },               \
  { "agents", required_argument, NULL, 'a' },                   \
  { "network", required_argument, NULL, 'N' },                  \
  { "selinux-relabel", required_argument, NULL, 's' },          \
  { "device-dir", required_argument, NULL, 'd' },               \
  { "overlay-dir", required_argument, NULL, 'o' },              \
  { "deadline", required_argument, NULL, 'D' },                 \
  { "compat", optional_argument, NULL, 'C' },                   \
  { "virtio-win", required_argument, NULL, 'V' },               \
  { "virtio-win-legacy", required_argument, NULL, 'L' },        \
  { "legacy-drivers", required_argument, NULL, 'l' },           \
  { "block-driver", required_argument, NULL, 'b' },             \
  { "health-probe", required_argument, NULL, 'H' }

extern void agent_convert_args_init (struct agent_convert_args *a);
extern void agent_convert_args_free (struct agent_convert_args *a);
extern int agent_convert_option (int c, const char *arg,
                                 struct agent_convert_args *a);

/* FROM_STRING (VAL) (a string table's lookup), or -1 (logged, naming
 * --OPT).
 */
extern int agent_parse_enum (const char *opt, const char *val,
                             int (*from_string) (const char *s));
/* V2V_LAUNCH_TIMEOUT into *RET (seconds; unset: 0); -1 if invalid (logged). */
extern int agent_launch_timeout_from_env (unsigned *ret);

/* An argument vector built by the program, e.g. from the environment. */
struct agent_argv {
  int argc;
  char **argv;                  /* NULL-terminated */
};
extern void agent_argv_free (struct agent_argv *a);
/* Append the options that Forklift's V2V_* variables and /etc/luks
 * stand for (forklift.c).  Fails for a value that cannot be honoured.
 */
extern int agent_forklift_env (struct agent_argv *a, struct v2v_error *err);

extern int agent_cmd_convert (int argc, char **argv);
extern int agent_cmd_run (int argc, char **argv);
extern int agent_cmd_devices (int argc, char **argv);

#endif /* V2V_AGENT_H */
