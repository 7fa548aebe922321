/* Compatibility mode: no rework.  KubeVirt then gives the VM SATA (AHCI)
 * disks and an e1000e NIC, and the question is whether the guest boots
 * on those as it is.  The preflight answers bootable, bootable-with-fixes
 * (listing them) or will-not-boot, with the reasons.
 *
 * The family checks its own guest (os->preflight: the Linux kernel's
 * drivers, the Windows AHCI service).  The fixes are the family's compat
 * steps marked compat_fix, asked through their own applies(), so the
 * preflight and --compat=fix cannot disagree.  The warnings come from the
 * family and from each step's facts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "report.h"
#include "string-table.h"

static const char *const preflight_verdict_table[] = {
  [PREFLIGHT_BOOTABLE] = "bootable",
  [PREFLIGHT_WITH_FIXES] = "bootable-with-fixes",
  [PREFLIGHT_WONT_BOOT] = "will-not-boot",
};
DEFINE_STRING_TABLE_LOOKUP (preflight_verdict, enum preflight_verdict,
                            "unknown")

void
convert_internal_json_addf (struct json_object *arr, const char *fmt, ...)
{
  char buf[1024];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  json_object_array_add (arr, json_object_new_string (buf));
}

int
convert_internal_preflight (struct convert_ctx *ctx, struct preflight *pf,
                            struct v2v_error *err)
{
  const struct convert_os *os = ctx->guest->os;

  (void) err;
  pf->reasons = json_object_new_array ();
  pf->fixes = json_object_new_array ();
  pf->warnings = json_object_new_array ();

  os->preflight (ctx, pf);

  /* The fixes, from the steps that would make them. */
  for (const struct convert_step *const *sp = os->compat_steps; *sp; sp++) {
    char why[512] = "";
    if (!(*sp)->compat_fix)
      continue;
    if ((*sp)->applies (ctx, why, sizeof why))
      convert_internal_json_addf (pf->fixes, "%s: %s", (*sp)->name, why);
  }

  /* Not boot blockers, but an SRE wants to know before choosing this. */
  for (size_t i = 0; os->facts && os->facts[i]; i++)
    if (os->facts[i]->compat_warnings)
      os->facts[i]->compat_warnings (ctx->guest->facts[i], pf->warnings);

  if (pf->wont_boot)
    pf->verdict = PREFLIGHT_WONT_BOOT;
  else if (json_object_array_length (pf->fixes) > 0)
    pf->verdict = PREFLIGHT_WITH_FIXES;
  else
    pf->verdict = PREFLIGHT_BOOTABLE;
  return 0;
}

struct json_object *
convert_internal_preflight_json (const struct preflight *pf, bool fix)
{
  struct json_object *o = json_object_new_object ();

  json_object_object_add (o, "mode", json_object_new_string (fix ? "fix"
                                                             : "check"));
  json_object_object_add (o, CONVERT_REPORT_PREFLIGHT_VERDICT,
                          json_object_new_string
                          (preflight_verdict_to_string (pf->verdict)));
  json_object_object_add (o, "reasons", json_object_get (pf->reasons));
  json_object_object_add (o, "fixes", json_object_get (pf->fixes));
  json_object_object_add (o, "warnings", json_object_get (pf->warnings));
  return o;
}

void
convert_internal_preflight_free (struct preflight *pf)
{
  json_object_put (pf->reasons);
  json_object_put (pf->fixes);
  json_object_put (pf->warnings);
}
