/* The instance's own attributes on its VirtualMachine: the CPU topology
 * from its CpuOptions, its tags as labels and an annotation, its
 * security groups as labels.  Pure functions, like render.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "orch.h"

#define S(s) json_object_new_string (s)
#define ADD(o, k, v) json_object_object_add ((o), (k), (v))

/* Kubernetes' IsQualifiedName name part and IsValidLabelValue: at most
 * 63 characters of [-A-Za-z0-9_.], beginning and ending with an
 * alphanumeric (a value may also be empty).
 */
static bool
label_syntax (const char *s, bool empty_ok)
{
  size_t n = strlen (s);

  if (n == 0)
    return empty_ok;
  if (n > 63 || !isalnum ((unsigned char) s[0]) ||
      !isalnum ((unsigned char) s[n - 1]))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!(isascii ((unsigned char) s[i]) && isalnum ((unsigned char) s[i])) &&
        s[i] != '-' && s[i] != '_' && s[i] != '.')
      return false;
  return true;
}

bool
orch_label_name_valid (const char *s)
{
  return label_syntax (s, false);
}

bool
orch_label_value_valid (const char *s)
{
  return label_syntax (s, true);
}

void
orch_render_tag_labels (const struct orch_vm *vm, struct json_object *labels)
{
  for (size_t i = 0; vm->tags && vm->tags[i] && vm->tags[i + 1]; i += 2) {
    char key[sizeof ORCH_TAG_LABEL_PREFIX + 64];

    /* A key with a '/' (a prefix of its own) cannot follow ours. */
    if (!orch_label_name_valid (vm->tags[i]) ||
        !orch_label_value_valid (vm->tags[i + 1]))
      continue;
    snprintf (key, sizeof key, "%s%s", ORCH_TAG_LABEL_PREFIX, vm->tags[i]);
    ADD (labels, key, S (vm->tags[i + 1]));
  }
}

void
orch_render_tag_annotation (const struct orch_vm *vm,
                            struct json_object *annotations)
{
  struct json_object *tags;

  if (vm->tags == NULL || vm->tags[0] == NULL)
    return;
  tags = json_object_new_object ();
  for (size_t i = 0; vm->tags[i] && vm->tags[i + 1]; i += 2)
    ADD (tags, vm->tags[i], S (vm->tags[i + 1]));
  ADD (annotations, ORCH_ANNOTATION_TAGS,
       S (json_object_to_json_string_ext (tags, JSON_C_TO_STRING_PLAIN |
                                          JSON_C_TO_STRING_NOSLASHESCAPE)));
  json_object_put (tags);
}

void
orch_render_sg_labels (const struct orch_vm *vm, struct json_object *labels)
{
  for (size_t i = 0; vm->security_groups && vm->security_groups[i]; i++) {
    char key[sizeof ORCH_SG_LABEL_PREFIX + 64];

    if (!orch_label_name_valid (vm->security_groups[i]))
      continue;
    snprintf (key, sizeof key, "%s%s", ORCH_SG_LABEL_PREFIX,
              vm->security_groups[i]);
    ADD (labels, key, S ("true"));
  }
}

struct json_object *
orch_render_cpu (const struct orch_vm *vm)
{
  struct json_object *cpu = json_object_new_object ();
  int cores = vm->cores, threads = vm->threads;

  /* Without CpuOptions or the type's defaults: one thread per vCPU. */
  if (cores <= 0 || threads <= 0) {
    cores = vm->vcpus > 0 ? vm->vcpus : 1;
    threads = 1;
  }
  ADD (cpu, "sockets", json_object_new_int (1));
  ADD (cpu, "cores", json_object_new_int (cores));
  ADD (cpu, "threads", json_object_new_int (threads));
  return cpu;
}

struct json_object *
orch_render_efi (const struct plan *p, const struct orch_vm *vm,
                 struct json_object *domain)
{
  struct json_object *efi = json_object_new_object ();
  bool secure = vm->uefi_data && p->secure_boot;

  ADD (efi, "secureBoot", json_object_new_boolean (secure));
  if (secure) {
    struct json_object *features = json_object_object_get (domain,
                                                           "features");
    struct json_object *smm = json_object_new_object ();
    /* The enrolled keys live in the variable store: keep it. */
    ADD (efi, "persistent", json_object_new_boolean (true));
    if (features == NULL) {
      features = json_object_new_object ();
      ADD (domain, "features", features);
    }
    ADD (smm, "enabled", json_object_new_boolean (true));
    ADD (features, "smm", smm);
  }
  return efi;
}
