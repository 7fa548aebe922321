/* The migration plan: a JSON file whose fields mirror Forklift's Plan
 * and Provider settings (docs/orchestrator.md has the reference and an
 * example).  plan_load checks everything up front and lists every
 * problem, so that a plan is not half migrated before a typo is found.
 */
#ifndef V2V_ORCH_PLAN_H
#define V2V_ORCH_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum net_target { NET_POD, NET_MULTUS, NET_IGNORED };

struct plan_net {
  char *subnet;                 /* subnet-... */
  enum net_target target;
  char *multus;                 /* "ns/name" for NET_MULTUS */
};

struct plan_storage {
  char *ebs_type;               /* gp2, gp3, io1, io2, st1, sc1, standard */
  char *storage_class;
};

struct plan_vm {
  char *id;                     /* i-... */
  char *new_name;               /* the VirtualMachine's name, or NULL */
};

struct plan_credentials {
  char *secret_dir;             /* files aws_access_key_id, ... */
  char *profile;                /* a shared-credentials profile */
  char *account_id;             /* the target account (cross-account) */
};

struct plan {
  char *name;                   /* DNS label; names and labels derive from it */
  char *region;
  char *target_az;
  char *target_namespace;
  struct plan_vm *vms;
  size_t nr_vms;
  char **selector_tags;         /* key, value, ..., NULL: VMs by tag */
  struct plan_storage *storage;
  size_t nr_storage;
  struct plan_net *nets;
  size_t nr_nets;
  bool skip_guest_conversion;
  bool use_compatibility_mode;
  bool install_legacy_drivers;
  bool delete_guest_conversion_pod;
  unsigned max_in_flight;
  char *conversion_image;
  char *agent_service_account;
  bool request_kvm;             /* devices.kubevirt.io/kvm: 1 (default) */
  bool secure_boot;             /* Secure Boot for UEFI instances that had it */
  bool pre_snapshot;            /* snapshot while running first (default) */
  struct plan_credentials source_creds;
  struct plan_credentials target_creds;
  bool cross_account;           /* target credentials were given */
  double poll_interval_s;
  double job_timeout_s;
  double verify_timeout_s;      /* the guest's health line, from its start */
  bool keep_unhealthy;          /* onUnhealthy: keep (else rollback) */
};

/* Parse and check PATH.  On failure ERR lists every problem found, one
 * per line, and -EINVAL is returned.
 */
extern int plan_load (const char *path, struct plan **ret,
                      struct v2v_error *err);
/* The same for LEN bytes at DATA (plan_load reads the file, then calls
 * this; the fuzz target calls it directly).  ERR is not prefixed with a
 * path.  Caller frees *RET with plan_free.
 */
extern int plan_parse (const char *data, size_t len, struct plan **ret,
                       struct v2v_error *err);
extern void plan_free (struct plan *p);

extern const char *plan_storage_class (const struct plan *p,
                                       const char *ebs_type);
extern const struct plan_net *plan_network (const struct plan *p,
                                            const char *subnet);

#endif /* V2V_ORCH_PLAN_H */
