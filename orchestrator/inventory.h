/* What a migration starts from: the source account's inventory, listed
 * (`v2v-orchestrator inventory`), and a plan written from a selection of
 * it (`v2v-orchestrator plan init`).  See docs/orchestrator.md.
 */
#ifndef V2V_ORCH_INVENTORY_H
#define V2V_ORCH_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ec2.h"
#include "error.h"

enum inventory_kind { INV_INSTANCES, INV_VOLUMES, INV_SUBNETS,
                      INV_SECURITY_GROUPS, INV_INSTANCE_TYPES, NR_INV_KINDS };

/* "instances" -> INV_INSTANCES...; -1 if NAME is no kind. */
extern int inventory_kind_parse (const char *name);
extern const char *inventory_kind_name (enum inventory_kind kind);

/* A --filter NAME=VALUE[,VALUE...] for KIND as an EC2 filter in *RET:
 * NAME is EC2's filter name, passed through (tag:KEY included), except
 * the alias "state" (instance-state-name for instances, status for
 * volumes).  Free what it holds with inventory_filters_free.  Returns 0
 * or -EINVAL with ERR naming the filter.
 */
extern int inventory_filter_parse (enum inventory_kind kind, const char *arg,
                                   struct ec2_filter *ret,
                                   struct v2v_error *err);
extern void inventory_filters_free (struct ec2_filter *v, size_t n);

/* List KIND matching FILTERS, each page one Describe call (C's page
 * size), and print it to OUT as a text table or, if JSON, a JSON array.
 */
extern int inventory_list (struct ec2_client *c, enum inventory_kind kind,
                           const struct ec2_filter *filters, size_t nr_filters,
                           bool json, FILE *out, struct v2v_error *err);

struct plan_init_options {
  const char *const *instances;       /* ids, or NULL */
  const char *const *selector;        /* tag key, value, ..., or NULL */
  const char *name;                   /* the plan's name */
  const char *region;
  const char *target_az;
  const char *namespace;
  const char *storage_class;          /* every volume type's, or NULL */
  const char *conversion_image;       /* or NULL */
};

/* The plan of the instances O selects (by id, or by tags: only those
 * that can be migrated), with a storage map of their volume types and a
 * network map of their subnets, as JSON text in *RET (caller frees).
 * Warnings (subnets not mapped to the pod network) are logged.  Returns
 * 0, -ENOENT (an instance not found, a selector that matches nothing),
 * -EINVAL (an instance that cannot be migrated) or a call's error.
 */
extern int plan_init_build (struct ec2_client *c,
                            const struct plan_init_options *o, char **ret,
                            struct v2v_error *err);

#endif /* V2V_ORCH_INVENTORY_H */
