#ifndef V2V_AGENT_H
#define V2V_AGENT_H

/* Exit codes of v2v-agent; documented in docs/operations.md.  Each
 * refusal has its own code so a controller can tell them apart without
 * parsing messages.
 */
enum agent_exit {
  AGENT_EXIT_OK = 0,            /* converted, or already converted */
  AGENT_EXIT_INTERNAL = 1,
  AGENT_EXIT_USAGE = 2,
  AGENT_EXIT_DEVICE = 3,        /* a disk is missing, unreadable, read-only */
  AGENT_EXIT_NO_OS = 4,
  AGENT_EXIT_MULTI_OS = 5,
  AGENT_EXIT_UNSUPPORTED = 6,   /* distro, arch, Windows version, no initramfs tool */
  AGENT_EXIT_XEN_PV_ONLY = 7,
  AGENT_EXIT_NO_SPACE = 8,
  AGENT_EXIT_FS_STATE = 9,      /* hibernated or read-only filesystem */
  AGENT_EXIT_LUKS_KEY = 10,
  AGENT_EXIT_STEP_FAILED = 11,  /* a rework step failed; disks untouched */
  AGENT_EXIT_COMMIT = 12,       /* writing the overlays back failed */
  AGENT_EXIT_VIRTIO_WIN = 13,   /* Windows: VIRTIO_WIN unset or unusable */
  AGENT_EXIT_BITLOCKER = 14,    /* a BitLocker volume and no (working) key */
  AGENT_EXIT_CANCELLED = 15,    /* run: a signal, --timeout or POST /shutdown */
  /* 16-19: reserved */
  AGENT_EXIT_COMPAT_FIXES = 20, /* --compat=check: bootable once fixed */
  AGENT_EXIT_COMPAT_WONT_BOOT = 21, /* --compat: will not boot on SATA */
  AGENT_EXIT_UNHEALTHY = 22,    /* verify: the probe reports problems */
  AGENT_EXIT_NO_BOOT = 23,      /* verify: the guest did not boot */
  AGENT_EXIT_BOOT_TIMEOUT = 24, /* verify: no health line in time */
};

#include <stdbool.h>
#include <stddef.h>

#include "blockdev.h"
#include "convert.h"
#include "error.h"

struct json_object;

/* What "convert" and "run" both take on the command line. */
struct agent_convert_args {
  struct convert_options opts;
  struct blockdev_options bopts;
  char **keys;                  /* resolved --key values, NULL-terminated */
  size_t nkeys;
  const char *report_file, *overlay_dir;
  bool overlay;                 /* false: --no-overlay */
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
  { "block-driver", required_argument, NULL, 'b' },              \
  { "health-probe", required_argument, NULL, 'H' }

extern void agent_convert_args_init (struct agent_convert_args *a);
extern void agent_convert_args_free (struct agent_convert_args *a);
extern int agent_convert_option (int c, const char *arg,
                                 struct agent_convert_args *a);

/* FROM_STRING (VAL), or -1 with "--OPT: unknown value" logged. */
extern int agent_parse_enum (const char *opt, const char *val,
                             int (*from_string) (const char *s));
extern int agent_exit_for (enum convert_status s);
extern char *agent_resolve_key (const char *arg);
extern void agent_default_overlay_dir (const struct blockdev_list *list,
                                       char *out, size_t len);
extern int agent_mkdir_p (const char *dir);
/* V2V_LAUNCH_TIMEOUT into *RET (seconds; unset: 0); -1 if invalid (logged). */
extern int agent_launch_timeout_from_env (unsigned *ret);
extern void agent_print_summary (struct json_object *report);

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
