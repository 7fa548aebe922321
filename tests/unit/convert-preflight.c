/* convert/preflight.c and the OS-family interface, on a family built
 * here: the fixes are the compat steps marked compat_fix that apply (a
 * step without the flag is never listed, whatever it says), the
 * warnings come from the family and then each fact in order, the
 * verdict follows, and convert_internal_facts finds a step's own facts.
 * No appliance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "internal.h"

static bool
yes (struct convert_ctx *ctx, char *why, size_t len)
{
  (void) ctx;
  snprintf (why, len, "it would");
  return true;
}

static bool
no (struct convert_ctx *ctx, char *why, size_t len)
{
  (void) ctx;
  snprintf (why, len, "nothing to do");
  return false;
}

static int
never (struct convert_ctx *ctx, struct v2v_error *err)
{
  (void) ctx;
  (void) err;
  cr_assert_fail ("the preflight must not apply a step");
  return -1;
}

static const struct convert_step fix_applies = {
  .name = "fix-a", .compat_fix = true, .applies = yes, .apply = never,
};
static const struct convert_step fix_idle = {
  .name = "fix-b", .compat_fix = true, .applies = no, .apply = never,
};
/* Applies, but is not a fix by itself (as selinux). */
static const struct convert_step relabel = {
  .name = "relabel", .relabels = true, .applies = yes, .apply = never,
};

static void *
gather_none (struct convert_ctx *ctx)
{
  (void) ctx;
  return NULL;
}

static void
json_none (const void *facts, struct json_object *o)
{
  (void) facts;
  (void) o;
}

static void
warn_name (const void *facts, struct json_object *warnings)
{
  if (facts)
    convert_internal_json_addf (warnings, "fact %s", (const char *) facts);
}

static const struct convert_facts facts_one = {
  .gather = gather_none, .json = json_none, .compat_warnings = warn_name,
  .free = free,
};
static const struct convert_facts facts_two = {
  .gather = gather_none, .json = json_none, .compat_warnings = warn_name,
  .free = free,
};
static const struct convert_facts facts_unlisted = {
  .gather = gather_none, .json = json_none, .free = free,
};

static bool family_wont_boot;

static void
family_preflight (struct convert_ctx *ctx, struct preflight *pf)
{
  (void) ctx;
  convert_internal_json_addf (pf->reasons, "the family's reason");
  convert_internal_json_addf (pf->warnings, "the family's warning");
  pf->wont_boot = family_wont_boot;
}

static const struct convert_step *const none[] = { NULL };

static void
run (const struct convert_step *const *compat, struct preflight *pf)
{
  static const struct convert_facts *const facts[] = {
    &facts_one, &facts_two, NULL
  };
  struct convert_os os = {
    .name = "test", .steps = none, .compat_steps = compat, .facts = facts,
    .preflight = family_preflight,
  };
  struct guest guest = { .os = &os };
  struct changelog log = { 0 };
  struct convert_options opts = { .compat = CONVERT_COMPAT_CHECK };
  struct convert_ctx ctx = { .guest = &guest, .opts = &opts, .log = &log };
  struct v2v_error err = { 0 };

  guest.facts[0] = strdup ("one");
  guest.facts[1] = strdup ("two");
  cr_assert_str_eq (convert_internal_facts (&guest, &facts_two), "two");
  cr_assert_null (convert_internal_facts (&guest, &facts_unlisted));
  cr_assert_eq (convert_internal_preflight (&ctx, pf, &err), 0);
  free (guest.facts[0]);
  free (guest.facts[1]);
}

static void
assert_strings (struct json_object *arr, const char *const *want)
{
  size_t n = 0;

  for (; want[n]; n++) {
    cr_assert_lt (n, json_object_array_length (arr), "missing '%s'", want[n]);
    cr_assert_str_eq (json_object_get_string
                      (json_object_array_get_idx (arr, n)), want[n]);
  }
  cr_assert_eq (json_object_array_length (arr), n);
}

Test (preflight, fixes_are_compat_fix_steps_that_apply)
{
  static const struct convert_step *const compat[] = {
    &fix_applies, &fix_idle, &relabel, NULL
  };
  static const char *const fixes[] = { "fix-a: it would", NULL };
  static const char *const warnings[] = {
    "the family's warning", "fact one", "fact two", NULL
  };
  static const char *const reasons[] = { "the family's reason", NULL };
  struct preflight pf = { 0 };

  family_wont_boot = false;
  run (compat, &pf);
  assert_strings (pf.fixes, fixes);
  assert_strings (pf.warnings, warnings);
  assert_strings (pf.reasons, reasons);
  cr_assert_eq (pf.verdict, PREFLIGHT_WITH_FIXES);
  convert_internal_preflight_free (&pf);
}

Test (preflight, bootable_when_no_fix_applies)
{
  /* The relabel step applies, but it is no fix: still bootable. */
  static const struct convert_step *const compat[] = {
    &fix_idle, &relabel, NULL
  };
  struct preflight pf = { 0 };

  family_wont_boot = false;
  run (compat, &pf);
  cr_assert_eq (json_object_array_length (pf.fixes), 0);
  cr_assert_eq (pf.verdict, PREFLIGHT_BOOTABLE);
  cr_assert_str_eq (preflight_verdict_to_string (pf.verdict), "bootable");
  convert_internal_preflight_free (&pf);
}

Test (preflight, family_wont_boot_wins_over_fixes)
{
  static const struct convert_step *const compat[] = { &fix_applies, NULL };
  struct preflight pf = { 0 };

  family_wont_boot = true;
  run (compat, &pf);
  cr_assert_eq (json_object_array_length (pf.fixes), 1);
  cr_assert_eq (pf.verdict, PREFLIGHT_WONT_BOOT);
  convert_internal_preflight_free (&pf);
}

/* The families' own tables: the fixes are flagged, the relabel pass is
 * not a fix and runs last. */
Test (preflight, family_tables)
{
  const struct convert_os *const families[] = {
    &convert_internal_os_linux, &convert_internal_os_windows,
  };

  for (size_t f = 0; f < 2; f++) {
    const struct convert_os *os = families[f];
    size_t fixes = 0;
    for (const struct convert_step *const *sp = os->compat_steps; *sp; sp++) {
      cr_assert (!((*sp)->compat_fix && (*sp)->relabels), "%s", (*sp)->name);
      fixes += (*sp)->compat_fix;
      if ((*sp)->relabels)
        cr_assert_null (sp[1], "%s: %s is not last", os->name, (*sp)->name);
    }
    cr_assert_gt (fixes, 0, "%s has no compat fixes", os->name);
    for (const struct convert_step *const *sp = os->steps; *sp; sp++)
      if ((*sp)->relabels)
        cr_assert_null (sp[1], "%s: %s is not last", os->name, (*sp)->name);
  }
}
