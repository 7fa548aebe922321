/* The disk list: freeing it and turning it into JSON. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "json.h"

char *
blockdev_internal_asprintf (const char *fmt, ...)
{
  va_list ap;
  char *s;
  int r;

  va_start (ap, fmt);
  r = vasprintf (&s, fmt, ap);
  va_end (ap);
  return r == -1 ? NULL : s;
}

static const char *const blockdev_class_table[] = {
  [BLOCKDEV_BOOTABLE_CANDIDATE] = "bootable-candidate",
  [BLOCKDEV_DATA] = "data",
  [BLOCKDEV_BLANK] = "blank",
  [BLOCKDEV_UNREADABLE] = "unreadable",
};
DEFINE_STRING_TABLE_LOOKUP (blockdev_class, enum blockdev_class, "unknown")

static void
partition_clear (struct blockdev_partition *p)
{
  free (p->type);
  free (p->fstype);
  free (p->uuid);
  free (p->label);
  free (p->partuuid);
  memset (p, 0, sizeof *p);
}

/* Free what probing filled in, keeping what discovery found. */
void
blockdev_internal_disk_clear (struct blockdev_disk *disk)
{
  for (size_t i = 0; i < disk->nr_partitions; i++)
    partition_clear (&disk->partitions[i]);
  free (disk->partitions);
  disk->partitions = NULL;
  disk->nr_partitions = 0;
  free (disk->pttype);
  free (disk->ptuuid);
  free (disk->fstype);
  free (disk->uuid);
  free (disk->label);
  free (disk->reason);
  free (disk->warning);
  disk->pttype = disk->ptuuid = NULL;
  disk->fstype = disk->uuid = disk->label = disk->reason = NULL;
  disk->warning = NULL;
  disk->class = BLOCKDEV_BLANK;
}

void
blockdev_list_free (struct blockdev_list *list)
{
  if (list == NULL)
    return;
  for (size_t i = 0; i < list->nr_disks; i++) {
    blockdev_internal_disk_clear (&list->disks[i]);
    free (list->disks[i].path);
    free (list->disks[i].overlay);
  }
  free (list->disks);
  free (list->overlay_dir);
  free (list);
}

/* json-c reports failure to allocate by returning NULL from the
 * constructors and -1 from the adders; any of them makes the whole
 * conversion NULL.
 */
static int
add (struct json_object *obj, const char *key, struct json_object *val)
{
  if (val == NULL)
    return -1;
  if (json_object_object_add (obj, key, val) == -1) {
    json_object_put (val);
    return -1;
  }
  return 0;
}

/* A JSON string, or null for NULL: json-c's null is the NULL pointer, so
 * this cannot fail for NULL.
 */
static int
add_string (struct json_object *obj, const char *key, const char *s)
{
  if (s == NULL)
    return json_object_object_add (obj, key, NULL) == -1 ? -1 : 0;
  return add (obj, key, json_object_new_string (s));
}

static int
add_u64 (struct json_object *obj, const char *key, uint64_t v)
{
  return add (obj, key, json_object_new_uint64 (v));
}

static int
add_bool (struct json_object *obj, const char *key, bool v)
{
  return add (obj, key, json_object_new_boolean (v));
}

static struct json_object *
partition_to_json (const struct blockdev_partition *p)
{
  CLEANUP_JSON struct json_object *obj = json_object_new_object ();

  if (obj == NULL ||
      add (obj, "number", json_object_new_int (p->number)) == -1 ||
      add_u64 (obj, "start", p->start) == -1 ||
      add_u64 (obj, "size", p->size) == -1 ||
      add_string (obj, "type", p->type) == -1 ||
      add_string (obj, "fstype", p->fstype) == -1 ||
      add_string (obj, "uuid", p->uuid) == -1 ||
      add_string (obj, "label", p->label) == -1 ||
      add_string (obj, "partuuid", p->partuuid) == -1 ||
      add_bool (obj, "esp", p->esp) == -1 ||
      add_bool (obj, "bios_boot", p->bios_boot) == -1 ||
      add_bool (obj, "bootable", p->bootable) == -1 ||
      add_bool (obj, "extended", p->extended) == -1)
    return NULL;
  return TAKE_PTR (obj);
}

static struct json_object *
disk_to_json (const struct blockdev_disk *d)
{
  CLEANUP_JSON struct json_object *obj = json_object_new_object ();
  CLEANUP_JSON struct json_object *parts = json_object_new_array ();

  if (obj == NULL || parts == NULL)
    return NULL;
  for (size_t i = 0; i < d->nr_partitions; i++) {
    struct json_object *p = partition_to_json (&d->partitions[i]);

    if (p == NULL)
      return NULL;
    if (json_object_array_add (parts, p) == -1) {
      json_object_put (p);
      return NULL;
    }
  }
  if (add_u64 (obj, "index", d->index) == -1 ||
      add_string (obj, "path", d->path) == -1 ||
      add_bool (obj, "nbd", d->is_nbd) == -1 ||
      add_u64 (obj, "size", d->size) == -1 ||
      add_u64 (obj, "logical_sector", d->logical_sector) == -1 ||
      add_u64 (obj, "physical_sector", d->physical_sector) == -1 ||
      add_bool (obj, "readonly", d->readonly) == -1 ||
      add_string (obj, "pttype", d->pttype) == -1 ||
      add_string (obj, "ptuuid", d->ptuuid) == -1 ||
      add (obj, "partitions", TAKE_PTR (parts)) == -1 ||
      add_string (obj, "fstype", d->fstype) == -1 ||
      add_string (obj, "uuid", d->uuid) == -1 ||
      add_string (obj, "label", d->label) == -1 ||
      add_string (obj, "class", blockdev_class_to_string (d->class)) == -1 ||
      add_string (obj, "reason", d->reason) == -1 ||
      add_string (obj, "warning", d->warning) == -1 ||
      add_string (obj, "overlay", d->overlay) == -1)
    return NULL;
  return TAKE_PTR (obj);
}

struct json_object *
blockdev_list_to_json (const struct blockdev_list *list)
{
  CLEANUP_JSON struct json_object *arr = json_object_new_array ();

  if (arr == NULL)
    return NULL;
  for (size_t i = 0; list && i < list->nr_disks; i++) {
    struct json_object *d = disk_to_json (&list->disks[i]);

    if (d == NULL)
      return NULL;
    if (json_object_array_add (arr, d) == -1) {
      json_object_put (d);
      return NULL;
    }
  }
  return TAKE_PTR (arr);
}
