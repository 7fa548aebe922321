/* The agent's typed view of the conversion report (the contract of
 * convert/report.h and docs/report.md): what the run's status, its
 * termination message, /inspection and Events read, parsed once
 * (report-read.c), so that no key is looked up by name anywhere else.
 */
#ifndef V2V_AGENT_REPORT_READ_H
#define V2V_AGENT_REPORT_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct json_object;

/* One fstab entry that resolved to a migrated disk. */
struct agent_report_mount {
  char *device, *mountpoint;
};

struct agent_report_guest {
  /* NULL when the report does not say. */
  char *root, *type, *distro, *product, *osinfo, *arch, *firmware;
  char *package_format, *package_management;
  bool has_version;
  int64_t major, minor;
  bool windows;
  char *windows_variant, *windows_systemroot;
  size_t nr_mounts;
  struct agent_report_mount *mounts;
};

struct agent_report_disk {
  int64_t index;
  bool has_size;
  int64_t size;
};

/* kubevirt_hints, as verify boots by them. */
struct agent_report_hints {
  char *firmware, *disk_bus, *nic_model, *machine_type; /* NULL: absent */
  bool has_boot_disk;
  int64_t boot_disk;
};

/* One of "steps": its name and result ("applied", "skipped", ...). */
struct agent_report_step {
  char *name, *result;
};

struct agent_report {
  char *status;                 /* NULL until the pipeline has written it */
  char *accelerator;            /* NULL before the appliance */
  bool has_guest;
  struct agent_report_guest guest;
  /* Deep copies, for /status and the termination message, which show
   * them whole; NULL when absent.
   */
  struct json_object *guest_json;
  struct json_object *hints_json;
  size_t nr_warnings;
  char **warnings;
  size_t nr_disks;
  struct agent_report_disk *disks;
  struct agent_report_hints hints;
  size_t nr_steps;
  struct agent_report_step *steps;
};

/* Whether the step NAME was applied. */
extern bool agent_report_step_applied (const struct agent_report *r,
                                       const char *name);

/* Read REPORT (not changed, not kept).  A member of the wrong type is
 * an error naming it; a missing one is left unset.  On success
 * *RET_REPORT is the caller's, freed with agent_report_free.
 */
extern int agent_report_read (struct json_object *report,
                              struct agent_report **ret_report,
                              struct v2v_error *err);
/* What a conversion's report must hold to be read as one (its
 * contract, docs/report.md): a "status" that convert or run ends with,
 * and, when there are kubevirt_hints, each of the hints the schema
 * requires.  Returns 0, or -EINVAL with ERR naming the key.
 */
extern int agent_report_check_conversion (const struct agent_report *r,
                                          struct v2v_error *err);
/* Accepts NULL. */
extern void agent_report_free (struct agent_report *r);

#endif /* V2V_AGENT_REPORT_READ_H */
