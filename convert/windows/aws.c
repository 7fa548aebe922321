/* EC2 leftovers.  The AWS PV drivers (Citrix-derived xenbus, xenvbd,
 * xennet...) and the EC2 agents (EC2Launch v1/v2, EC2Config, SSM) are
 * disabled with Start=4: the drivers would bind to nothing, or worse,
 * and the agents would wait for the metadata service.  A disabled
 * driver that is still listed as a class filter stops every device of
 * that class from starting, so it leaves the UpperFilters and
 * LowerFilters lists too.  ENA and AWS NVMe are harmless and kept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "windows.h"

struct aws {
  const struct guest_windows *w;
  bool agents;
};

static bool
disabled_driver (const struct guest_windows *w, const char *name)
{
  for (size_t i = 0; w->pv_services && w->pv_services[i]; i++)
    if (win_name_eq (w->pv_services[i], name))
      return true;
  return false;
}

/* Rewrite one multi-string filter list without the disabled drivers.
 * It is UTF-16LE from the guest: kept entries are copied as they are,
 * and only pure-ASCII entries are compared. */
static int
drop_filters (struct win_reg *reg, int64_t node, const char *keypath,
              const char *name, struct v2v_error *err)
{
  guestfs_h *g = reg->ctx->guest->g;
  const struct guest_windows *w = win_guest (reg->ctx->guest);
  size_t len = 0, o = 0;
  bool dropped = false;
  char shown[1024] = "";

  guestfs_push_error_handler (g, NULL, NULL);
  int64_t v = guestfs_hivex_node_get_value (g, node, name);
  CLEANUP_FREE char *data = v > 0 && guestfs_hivex_value_type (g, v) ==
    REG_MULTI_SZ_T ? guestfs_hivex_value_value (g, v, &len) : NULL;
  guestfs_pop_error_handler (g);
  if (data == NULL || len > 65536)
    return 0;
  CLEANUP_FREE char *out = calloc (len + 4, 1);
  if (out == NULL)
    return v2v_error_set (err, -ENOMEM, "%s", name);

  for (size_t i = 0; i + 1 < len;) {
    size_t start = i;
    char ascii[256];
    size_t n = 0;
    bool is_ascii = true;
    for (; i + 1 < len && (data[i] || data[i + 1]); i += 2) {
      if (data[i + 1] || (unsigned char) data[i] >= 128)
        is_ascii = false;
      if (n < sizeof ascii - 1)
        ascii[n++] = data[i];
    }
    ascii[n] = '\0';
    size_t end = i;
    i += 2;                     /* the NUL */
    if (end == start)
      break;                    /* the empty string ending the list */
    if (is_ascii && disabled_driver (w, ascii)) {
      dropped = true;
      continue;
    }
    memcpy (out + o, data + start, end - start);
    o += end - start + 2;
    size_t l = strlen (shown);
    snprintf (shown + l, sizeof shown - l, "%s%s", l ? "," : "", ascii);
  }
  if (!dropped)
    return 0;
  o += 2;
  return win_reg_set_raw (reg, keypath, name, REG_MULTI_SZ_T, out, o, shown,
                          err);
}

static int
edit_system (struct win_reg *reg, void *opaque, struct v2v_error *err)
{
  const struct aws *a = opaque;
  const struct guest_windows *w = a->w;
  guestfs_h *g = reg->ctx->guest->g;
  char cs[32], key[512];
  int r;

  win_control_set (w, cs, sizeof cs);
  for (size_t i = 0; w->pv_services && w->pv_services[i]; i++) {
    snprintf (key, sizeof key, "%s\\Services\\%s", cs, w->pv_services[i]);
    if ((r = win_reg_set_dword (reg, key, "Start", 4, err)) < 0)
      return r;
  }
  for (size_t i = 0; a->agents && w->agent_services &&
         w->agent_services[i]; i++) {
    snprintf (key, sizeof key, "%s\\Services\\%s", cs, w->agent_services[i]);
    if ((r = win_reg_set_dword (reg, key, "Start", 4, err)) < 0)
      return r;
  }

  snprintf (key, sizeof key, "%s\\Control\\Class", cs);
  int64_t classes = win_reg_lookup (g, key);
  if (classes <= 0 || w->pv_services == NULL)
    return 0;
  struct guestfs_hivex_node_list *kids =
    guestfs_hivex_node_children (g, classes);
  for (size_t i = 0; kids && i < kids->len && i < 4096; i++) {
    int64_t k = kids->val[i].hivex_node_h;
    CLEANUP_FREE char *name = guestfs_hivex_node_name (g, k);
    if (name == NULL || strlen (name) > 100)
      continue;
    snprintf (key, sizeof key, "%s\\Control\\Class\\%s", cs, name);
    if ((r = drop_filters (reg, k, key, "UpperFilters", err)) < 0 ||
        (r = drop_filters (reg, k, key, "LowerFilters", err)) < 0) {
      guestfs_free_hivex_node_list (kids);
      return r;
    }
  }
  if (kids)
    guestfs_free_hivex_node_list (kids);
  return 0;
}

static bool
aws_applies (struct convert_ctx *ctx, char *why, size_t len)
{
  const struct guest_windows *w = win_guest (ctx->guest);
  bool agents = ctx->opts->agents != CONVERT_AGENTS_KEEP;
  char list[512] = "";

  for (size_t i = 0; w->pv_services && w->pv_services[i]; i++) {
    size_t l = strlen (list);
    snprintf (list + l, sizeof list - l, "%s%s", l ? " " : "",
              w->pv_services[i]);
  }
  for (size_t i = 0; agents && w->agent_services && w->agent_services[i];
       i++) {
    size_t l = strlen (list);
    snprintf (list + l, sizeof list - l, "%s%s", l ? " " : "",
              w->agent_services[i]);
  }
  if (*list == '\0') {
    snprintf (why, len, "no AWS PV drivers%s", agents ? " or EC2 agents" : "");
    return false;
  }
  snprintf (why, len, "Start=4 (disabled): %s", list);
  return true;
}

static int
aws_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  struct aws a = { .w = win_guest (ctx->guest),
                   .agents = ctx->opts->agents != CONVERT_AGENTS_KEEP };

  return win_reg_edit (ctx, a.w->system_hive, "SYSTEM",
                       "disable the AWS PV drivers and EC2 agents",
                       edit_system, &a, err);
}

const struct convert_step convert_step_win_aws = {
  .name = "aws-services",
  .applies = aws_applies,
  .apply = aws_apply,
};
