/* String tables: one array per enum maps each value to its name, and
 * one macro generates both lookups, in the manner of systemd's
 * DEFINE_STRING_TABLE_LOOKUP, so a name is written once:
 *
 *   static const char *const accel_kind_table[] = {
 *     [ACCEL_KVM] = "kvm", [ACCEL_TCG] = "tcg",
 *   };
 *   DEFINE_STRING_TABLE_LOOKUP (accel_kind, enum accel_kind, "unknown")
 *
 * defines
 *   const char *accel_kind_to_string (enum accel_kind v);
 *     the name, or "unknown" (the third argument; may be NULL) for a
 *     value outside the table or a hole in it;
 *   int accel_kind_from_string (const char *s);
 *     the value whose name is S (exact, case-sensitive), or -EINVAL.
 * The header declares them with DECLARE_STRING_TABLE_LOOKUP (accel_kind,
 * enum accel_kind); DEFINE_PRIVATE_STRING_TABLE_LOOKUP makes them static.
 *
 * from_string returns int, not the enum: an enum with no negative
 * value may be unsigned, and -EINVAL must stay negative.
 */
#ifndef V2V_COMMON_STRING_TABLE_H
#define V2V_COMMON_STRING_TABLE_H

#include <stddef.h>

extern const char *string_table_to_string (const char *const *table,
                                           size_t n, long v,
                                           const char *unknown);
extern int string_table_from_string (const char *const *table, size_t n,
                                     const char *s);

#define STRING_TABLE_SIZE(t) (sizeof (t) / sizeof (t)[0])

/* NOLINTBEGIN(bugprone-macro-parentheses): TYPE and SCOPE are a type
 * and a storage class, which cannot be in parentheses.
 */
#define DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type, unknown, scope) \
  scope const char *                                                    \
  name##_to_string (type v)                                             \
  {                                                                     \
    return string_table_to_string (name##_table,                        \
                                   STRING_TABLE_SIZE (name##_table),    \
                                   (long) v, (unknown));                \
  }

#define DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, scope)             \
  scope int                                                             \
  name##_from_string (const char *s)                                    \
  {                                                                     \
    return string_table_from_string (name##_table,                      \
                                     STRING_TABLE_SIZE (name##_table), s); \
  }

#define DECLARE_STRING_TABLE_LOOKUP(name, type)                         \
  extern const char *name##_to_string (type v);                         \
  extern int name##_from_string (const char *s)

#define DEFINE_STRING_TABLE_LOOKUP(name, type, unknown)                 \
  DEFINE_STRING_TABLE_LOOKUP_TO_STRING (name, type, unknown, )          \
  DEFINE_STRING_TABLE_LOOKUP_FROM_STRING (name, )

/* Static, and not an error when one direction goes unused. */
#define DEFINE_PRIVATE_STRING_TABLE_LOOKUP(name, type, unknown)         \
  DEFINE_STRING_TABLE_LOOKUP_TO_STRING (name, type, unknown,            \
                                        static __attribute__ ((unused))) \
  DEFINE_STRING_TABLE_LOOKUP_FROM_STRING (name,                         \
                                          static __attribute__ ((unused)))
/* NOLINTEND(bugprone-macro-parentheses) */

#endif /* V2V_COMMON_STRING_TABLE_H */
