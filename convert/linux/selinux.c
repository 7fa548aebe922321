/* SELinux: files we wrote have no label.  By default relabel exactly
 * those; --selinux-relabel=full relabels everything now, =boot leaves it
 * to the guest's next boot (/.autorelabel).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"

/* The facts: is SELinux enforcing or permissive in the guest's config?
 * (A pointer to a bool, or NULL.) */
static bool
config_says (struct convert_ctx *ctx, const char *mode)
{
  CLEANUP_FREE char *data = NULL;
  struct v2v_error ignored;

  return convert_internal_is_regular (ctx, "/etc/selinux/config") &&
    convert_internal_read (ctx, "/etc/selinux/config", &data, NULL,
                           &ignored) == 0 &&
    strstr (data, mode) != NULL;
}

static void *
selinux_gather (struct convert_ctx *ctx)
{
  bool *enabled = malloc (sizeof *enabled);

  if (enabled)
    *enabled = config_says (ctx, "SELINUX=enforcing") ||
      config_says (ctx, "SELINUX=permissive");
  return enabled;
}

static void
selinux_json (const void *facts, struct json_object *o)
{
  const bool *enabled = facts;

  json_object_object_add (o, "selinux",
                          json_object_new_boolean (enabled && *enabled));
}

const struct convert_facts linux_selinux_facts = {
  .gather = selinux_gather,
  .json = selinux_json,
  .free = free,
};

static bool
selinux_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  const bool *enabled = convert_internal_facts (ctx->guest,
                                                &linux_selinux_facts);

  if (enabled == NULL || !*enabled) {
    snprintf (why, whylen, "SELinux is not enabled in the guest");
    return false;
  }
  snprintf (why, whylen, "SELinux is enabled; changed files need labels");
  return true;
}

static int
selinux_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  char spec[256];
  CLEANUP_FREE char *config = NULL;

  if (ctx->opts->relabel == CONVERT_RELABEL_BOOT)
    return convert_internal_write (ctx, "/.autorelabel", "", 0,
                                   "--selinux-relabel=boot", err);

  /* selinux_relabel needs setfiles in the appliance, which some builds
   * lack (Debian's libguestfs 1.48: "feature 'selinuxrelabel' is not
   * available").  Failing the whole conversion for labels would be
   * wrong; like virt-customize (SELinux_relabel.relabel), let the guest
   * relabel itself at its next boot.
   */
  const char *feature[] = { "selinuxrelabel", NULL };
  if (guestfs_feature_available (g, (char **) feature) <= 0) {
    convert_internal_warn (ctx, "this libguestfs cannot relabel SELinux "
                           "files (no selinuxrelabel feature); the guest "
                           "relabels itself at its next boot");
    return convert_internal_write (ctx, "/.autorelabel", "", 0,
                                   "SELinux relabel not possible in the "
                                   "appliance; relabel at next boot", err);
  }

  /* SELINUXTYPE=targeted -> its file_contexts. */
  const char *type = "targeted";
  char tbuf[64];
  if (convert_internal_read (ctx, "/etc/selinux/config", &config, NULL,
                             err) == 0) {
    const char *t = strstr (config, "\nSELINUXTYPE=");
    if (t && sscanf (t + 13, "%63[A-Za-z0-9_-]", tbuf) == 1)
      type = tbuf;
  }
  snprintf (spec, sizeof spec,
            "/etc/selinux/%s/contexts/files/file_contexts", type);
  if (!convert_internal_exists (ctx, spec)) {
    convert_internal_warn (ctx, "%s missing; relabelling at next boot", spec);
    return convert_internal_write (ctx, "/.autorelabel", "", 0,
                                   "no file_contexts to relabel with now",
                                   err);
  }
  if (ctx->opts->relabel == CONVERT_RELABEL_FULL) {
    if (guestfs_selinux_relabel (g, spec, "/", -1) == -1)
      return convert_internal_gerror (g, err, "setfiles", "/");
    return 0;
  }
  for (size_t i = 0; i < ctx->log->nr_changed; i++) {
    if (guestfs_selinux_relabel (g, spec, ctx->log->changed_paths[i],
                                 -1) == -1)
      return convert_internal_gerror (g, err, "setfiles",
                                      ctx->log->changed_paths[i]);
  }
  return 0;
}

const struct convert_step convert_step_selinux = {
  .name = "selinux",
  .relabels = true,
  .applies = selinux_applies,
  .apply = selinux_apply,
};
