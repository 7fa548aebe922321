/* The orchestrator's model of one VM's migration, shared by the phase
 * runner and its phases (orch-internal.h) and the Kubernetes object
 * renderers (render.c).
 */
#ifndef V2V_ORCH_H
#define V2V_ORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"

struct json_object;

/* Tags on EC2 resources, labels on Kubernetes ones: what a re-run looks
 * for so that it never creates anything twice.
 */
#define ORCH_TAG_PLAN    "v2v-kubevirt/plan"
#define ORCH_TAG_VM      "v2v-kubevirt/vm"
#define ORCH_TAG_VOLUME  "v2v-kubevirt/source-volume"
/* On the pre-copy snapshots (preSnapshot), taken while the instance
 * runs: "pre".  The final ones have none.
 */
#define ORCH_TAG_PHASE   "v2v-kubevirt/phase"
#define ORCH_LABEL_PLAN  "v2v.kubevirt.io/plan"
#define ORCH_LABEL_VM    "v2v.kubevirt.io/vm"
#define ORCH_LABEL_VOLUME "v2v.kubevirt.io/source-volume"

/* The instance states a migration selects (vmSelector, plan init):
 * terminated instances stay listed for an hour.
 */
extern const char *const orch_migratable_states[];

#define ORCH_MAX_DISKS 40
#define ORCH_MAX_NICS  16

struct orch_disk {
  char device[32];              /* /dev/xvda, /dev/sda1, /dev/sdf */
  char src_volume[32];          /* vol-... in the source account */
  int64_t size_gib;
  char type[16];                /* gp3, io2, ... */
  int64_t iops, throughput;     /* 0: not set */
  bool encrypted;
  char kms_key[256];
  char **src_tags;              /* the source volume's own tags to copy:
                                   key, value, ..., NULL (or NULL) */
  char snapshot[32];            /* snap-... */
  char snapshot_state[16];
  char snapshot_start[32];      /* its StartTime: the earliest set wins */
  int snapshot_progress;        /* DescribeSnapshots' Progress, or -1 */
  /* The pre-copy snapshot (preSnapshot), the same way. */
  char pre_snapshot[32];
  char pre_state[16];
  char pre_start[32];
  int pre_progress;
  char volume[32];              /* vol-... created in the target */
  char volume_state[16];
  char pv[96], pvc[96];
  bool root;
};

struct orch_nic {
  char mac[32];
  char subnet[32];
  int device_index;
};

/* An instance-store volume: not migrated (it is not EBS), but the VM
 * gets an empty disk of its size in its place, serial ephemeralN.
 */
struct orch_scratch {
  int64_t size_gb;
  char device[32];              /* the AMI's name for it, or "" */
};

#define ORCH_MAX_SCRATCH 24

struct orch_vm {
  const struct plan_vm *pv;
  char id[32];
  char name[64];                /* the VirtualMachine and the PVCs' prefix */
  char job[96];

  /* From EC2. */
  char state[16];               /* running, stopping, stopped, ... */
  char prior_state[16];         /* before the migration touched it */
  char type[32];
  char az[32];
  char boot_mode[24];           /* legacy-bios, uefi, uefi-preferred, "" */
  char root_device[32];
  char image_id[32];
  int vcpus;
  int cores, threads;           /* per socket, per core (CpuOptions) */
  int64_t memory_mib;
  char **tags;                  /* the instance's: key, value, ..., NULL */
  char **security_groups;       /* its sg-... ids, NULL-terminated */
  char *user_data;              /* base64, as EC2 gives it, or NULL */
  bool uefi_checked;            /* GetInstanceUefiData asked */
  bool uefi_data;               /* GetInstanceUefiData has a variable
                                   store: Secure Boot was set up */
  struct orch_disk disks[ORCH_MAX_DISKS];
  size_t nr_disks;              /* root first, then by device name */
  struct orch_nic nics[ORCH_MAX_NICS];
  size_t nr_nics;               /* by device index */
  size_t nr_ebs_listed, nr_enis_listed; /* as EC2 listed them: more than
                                           the maxima is refused */
  char instance_store[128];     /* not migrated: a note, or "" */
  struct orch_scratch scratch[ORCH_MAX_SCRATCH]; /* ephemeral0, 1, ... */
  size_t nr_scratch;

  /* From the conversion. */
  struct json_object *result;   /* the agent's termination message */
};

/* Kubernetes objects for VM, as the fake and the real API server take
 * them; each returns a new object.
 */
extern struct json_object *orch_render_pv (const struct plan *p,
                                           const struct orch_vm *vm,
                                           const struct orch_disk *d);
extern struct json_object *orch_render_pvc (const struct plan *p,
                                            const struct orch_vm *vm,
                                            const struct orch_disk *d);
extern struct json_object *orch_render_job (const struct plan *p,
                                            const struct orch_vm *vm);
extern struct json_object *orch_render_vm (const struct plan *p,
                                           const struct orch_vm *vm);

/* The agent's device map for VM (docs/orchestrator.md#device-map), one
 * entry a line; the caller frees it.  NULL when out of memory.
 */
extern char *orch_render_device_map (const struct plan *p,
                                     const struct orch_vm *vm);

/* "8Gi" and the like. */
extern void orch_quantity_gib (int64_t gib, char *out, size_t len);

/* --- render-instance.c: the instance's own attributes ----------------- */

/* Labels made from the instance's tags go under this prefix: tag K=V is
 * label tags.v2v.kubevirt.io/K=V when K and V are valid as a label's
 * name and value.  All tags, verbatim, are in the annotation
 * ORCH_ANNOTATION_TAGS (a JSON object).
 */
#define ORCH_TAG_LABEL_PREFIX "tags.v2v.kubevirt.io/"
#define ORCH_ANNOTATION_TAGS  "v2v.kubevirt.io/source-tags"
/* Each security group of the instance is a label on its VM's template
 * (value "true"), so that NetworkPolicies can select the VMs migrated
 * with a group.
 */
#define ORCH_SG_LABEL_PREFIX  "security-groups.v2v.kubevirt.io/"

/* Kubernetes' label syntax: a name part (1-63 of [-A-Za-z0-9_.],
 * alphanumeric at both ends), a value (the same, or empty).
 */
extern bool orch_label_name_valid (const char *s);
extern bool orch_label_value_valid (const char *s);

/* Add VM's tags that make valid labels to LABELS. */
extern void orch_render_tag_labels (const struct orch_vm *vm,
                                    struct json_object *labels);
/* Add ORCH_ANNOTATION_TAGS to ANNOTATIONS (if VM has tags). */
extern void orch_render_tag_annotation (const struct orch_vm *vm,
                                        struct json_object *annotations);
/* Add the VM's security group labels to LABELS. */
extern void orch_render_sg_labels (const struct orch_vm *vm,
                                   struct json_object *labels);
/* bootloader.efi: Secure Boot and persistent EFI variables when the
 * instance had UEFI data and the plan says secureBoot (SMM, which Secure
 * Boot needs, is then turned on in DOMAIN's features), else off.
 */
extern struct json_object *orch_render_efi (const struct plan *p,
                                            const struct orch_vm *vm,
                                            struct json_object *domain);
/* spec.domain.cpu: 1 socket, the instance's cores and threads per core. */
extern struct json_object *orch_render_cpu (const struct orch_vm *vm);

#endif /* V2V_ORCH_H */
