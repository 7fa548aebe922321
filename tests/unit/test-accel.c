#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "accel.h"

/* Only the forced answers are tested: a real probe boots a kernel. */

Test (accel, forced_kvm)
{
  struct accel_result r = { .kind = ACCEL_TCG };
  struct v2v_error err = { 0 };

  setenv ("V2V_ACCEL", "kvm", 1);
  cr_assert_eq (accel_detect (1000, &r, &err), 0);
  cr_assert_eq (r.kind, ACCEL_KVM);
  cr_assert_str_eq (r.reason, "forced by V2V_ACCEL");
}

Test (accel, forced_tcg)
{
  struct accel_result r = { .kind = ACCEL_KVM };
  struct v2v_error err = { 0 };

  setenv ("V2V_ACCEL", "tcg", 1);
  cr_assert_eq (accel_detect (1000, &r, &err), 0);
  cr_assert_eq (r.kind, ACCEL_TCG);
  cr_assert_str_eq (r.reason, "forced by V2V_ACCEL");
}

Test (accel, forced_invalid_is_einval)
{
  struct accel_result r = { .kind = ACCEL_KVM, .reason = "untouched" };
  struct v2v_error err = { 0 };

  setenv ("V2V_ACCEL", "hvf", 1);
  cr_assert_eq (accel_detect (1000, &r, &err), -EINVAL);
  cr_assert_eq (err.code, -EINVAL);
  cr_assert_str_eq (err.msg, "V2V_ACCEL=hvf: expected \"kvm\" or \"tcg\"");
  cr_assert_eq (r.kind, ACCEL_KVM);
  cr_assert_str_eq (r.reason, "untouched");
}

Test (accel, forced_is_case_sensitive)
{
  struct accel_result r;
  struct v2v_error err = { 0 };

  setenv ("V2V_ACCEL", "KVM", 1);
  cr_assert_eq (accel_detect (1000, &r, &err), -EINVAL);
  cr_assert_eq (strncmp (err.msg, "V2V_ACCEL=KVM: ", 15), 0);
}

Test (accel, names)
{
  cr_assert_str_eq (accel_name (ACCEL_KVM), "kvm");
  cr_assert_str_eq (accel_name (ACCEL_TCG), "tcg");
}
