/* The device map: which EC2 device each disk and NIC of the conversion
 * was, so that the guest's own names for them can be placed.
 *
 * EC2 device names say nothing about attach order: "/dev/xvdf" is the
 * name in the instance's block device mapping, not the sixth disk; on
 * Nitro, /dev/nvme1n1 is whatever the kernel enumerated second, and the
 * stable names (/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0abc)
 * carry the volume id.  Only the source knows which volume had which
 * name, so the orchestrator (from DescribeInstances' block device
 * mappings) or the user (--disk-name) says it, and this file places a
 * guest's device name through that map.  Without an entry the name is
 * not guessed: the caller makes the mount non-fatal and says so.
 *
 * Pure functions, no appliance: tests/unit/convert-devmap.c covers the
 * whole table.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

struct convert_devmap *
convert_devmap_new (void)
{
  return calloc (1, sizeof (struct convert_devmap));
}

void
convert_devmap_free (struct convert_devmap *map)
{
  if (map == NULL)
    return;
  free (map->disks);
  free (map->nics);
  free (map);
}

/* "a".."z", "aa".."zz" (the Linux sd driver's scheme) at *P; the index
 * (a = 0), or -1.  Advances *P past the letters.
 */
static int
parse_letters (const char **p)
{
  int idx = 0, n = 0;

  while (**p >= 'a' && **p <= 'z' && n < 3) {
    idx = idx * 26 + (**p - 'a' + 1);
    (*p)++, n++;
  }
  return n ? idx - 1 : -1;
}

/* A decimal number at *P, at most MAX; -1 if there is none. */
static long
parse_number (const char **p, long max)
{
  long v = 0;

  if (!isdigit ((unsigned char) **p))
    return -1;
  for (; isdigit ((unsigned char) **p); (*p)++) {
    v = v * 10 + (**p - '0');
    if (v > max)
      return -1;
  }
  return v;
}

/* An EBS volume id as written in by-id names ("vol0abc", no dash) or in
 * the API ("vol-0abc"), as "vol-0abc" in RET (32 bytes).  LEN: how much
 * of S to read.
 */
static bool
parse_volume (const char *s, size_t len, char ret[32])
{
  size_t hex;

  if (len < 4 || strncmp (s, "vol", 3) != 0)
    return false;
  s += 3, len -= 3;
  if (*s == '-')
    s++, len--;
  hex = 0;
  while (hex < len && isxdigit ((unsigned char) s[hex]))
    hex++;
  if (hex == 0 || hex != len || hex > 17)
    return false;
  snprintf (ret, 32, "vol-%.*s", (int) hex, s);
  for (char *q = ret; *q; q++)
    *q = (char) tolower ((unsigned char) *q);
  return true;
}

/* "-partN" at P, or nothing; false for anything else. */
static bool
parse_part_suffix (const char *p, int *part)
{
  *part = 0;
  if (*p == '\0')
    return true;
  if (strncmp (p, "-part", 5) != 0)
    return false;
  p += 5;
  long n = parse_number (&p, 256);
  if (n <= 0 || *p)
    return false;
  *part = (int) n;
  return true;
}

#define EBS_BY_ID "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"
#define XEN_BY_PATH "/dev/disk/by-path/xen-vbd-"

int
convert_internal_devmap_ident (const char *spec, struct devmap_ident *ret)
{
  static const char *const letter_prefixes[] = {
    "/dev/xvd", "/dev/sd", "/dev/hd", "/dev/vd", NULL
  };
  struct devmap_ident id = { .form = IDENT_NONE, .letter = -1, .nvme = -1 };
  const char *p;

  if (strncmp (spec, "/dev/nvme", 9) == 0) {
    p = spec + 9;
    long ctrl = parse_number (&p, 1000);
    if (ctrl < 0 || *p++ != 'n' || parse_number (&p, 1000) < 0)
      return IDENT_NONE;        /* the namespace: always 1 on EC2 */
    if (*p == 'p') {
      p++;
      long part = parse_number (&p, 256);
      if (part <= 0)
        return IDENT_NONE;
      id.part = (int) part;
    }
    if (*p)
      return IDENT_NONE;
    id.form = IDENT_NVME;
    id.nvme = (int) ctrl;
    *ret = id;
    return id.form;
  }

  for (size_t i = 0; letter_prefixes[i]; i++) {
    size_t plen = strlen (letter_prefixes[i]);

    if (strncmp (spec, letter_prefixes[i], plen) != 0)
      continue;
    p = spec + plen;
    if ((id.letter = parse_letters (&p)) < 0)
      return IDENT_NONE;
    if (*p) {
      long part = parse_number (&p, 256);
      if (part <= 0 || *p)
        return IDENT_NONE;
      id.part = (int) part;
    }
    id.form = IDENT_LETTER;
    *ret = id;
    return id.form;
  }

  /* nvme-Amazon_Elastic_Block_Store_vol0abc[_1][-partN]: the udev rule
   * names EBS NVMe devices by their serial, which is the volume id
   * without its dash; newer udev appends the namespace ("_1").
   */
  if (strncmp (spec, EBS_BY_ID, strlen (EBS_BY_ID)) == 0) {
    const char *v = spec + strlen (EBS_BY_ID);
    size_t vlen = strcspn (v, "_-");
    p = v + vlen;
    if (!parse_volume (v, vlen, id.volume))
      return IDENT_NONE;
    if (*p == '_') {
      p++;
      if (parse_number (&p, 1000) < 0)
        return IDENT_NONE;
    }
    if (!parse_part_suffix (p, &id.part))
      return IDENT_NONE;
    id.form = IDENT_VOLUME;
    *ret = id;
    return id.form;
  }

  /* xen-vbd-N: N is the Xen virtual block device number, which encodes
   * the xvd letter: (202 << 8) | (disk << 4) | part, the SCSI form
   * (8 << 8) | ..., or (1 << 28) | (disk << 8) | part beyond xvdp.
   */
  if (strncmp (spec, XEN_BY_PATH, strlen (XEN_BY_PATH)) == 0) {
    p = spec + strlen (XEN_BY_PATH);
    long vbd = parse_number (&p, 0x7fffffffL);
    int part;
    if (vbd < 0 || !parse_part_suffix (p, &part))
      return IDENT_NONE;
    if (vbd & (1L << 28))
      id.letter = (int) ((vbd >> 8) & 0xfffff), id.part = (int) (vbd & 0xff);
    else if ((vbd >> 8) == 202 || (vbd >> 8) == 8)
      id.letter = (int) ((vbd >> 4) & 15), id.part = (int) (vbd & 15);
    else
      return IDENT_NONE;
    if (part)
      id.part = part;
    id.form = IDENT_LETTER;
    *ret = id;
    return id.form;
  }

  /* Any other by-path name is a PCI slot or a SCSI target: attach order
   * on the source, which nothing here can place.
   */
  if (strncmp (spec, "/dev/disk/by-path/", 18) == 0 && spec[18]) {
    id.form = IDENT_POSITION;
    *ret = id;
    return id.form;
  }
  return IDENT_NONE;
}

/* One NAME of a --disk-name value into E.  0, or -EINVAL. */
static int
disk_name_into (struct devmap_disk *e, const char *name)
{
  struct devmap_ident id;
  char dev[64];

  if (strncmp (name, "ephemeral", 9) == 0) {
    const char *p = name + 9;
    long n = parse_number (&p, 23);
    if (n < 0 || *p)
      return -EINVAL;
    e->ephemeral = (int) n;
    return 0;
  }
  if (parse_volume (name, strlen (name), e->volume))
    return strncmp (name, "vol-", 4) == 0 ? 0 : -EINVAL;
  /* The API writes "/dev/sdf", users often "xvdf". */
  snprintf (dev, sizeof dev, "%s%s", name[0] == '/' ? "" : "/dev/", name);
  if (convert_internal_devmap_ident (dev, &id) == IDENT_LETTER &&
      id.part == 0)
    e->letter = id.letter;
  else if (convert_internal_devmap_ident (dev, &id) == IDENT_NVME &&
           id.part == 0)
    e->nvme = id.nvme;
  else
    return -EINVAL;
  return 0;
}

static bool
same_disk (const struct devmap_disk *a, const struct devmap_disk *b)
{
  return (a->letter >= 0 && a->letter == b->letter) ||
    (a->nvme >= 0 && a->nvme == b->nvme) ||
    (a->volume[0] && strcmp (a->volume, b->volume) == 0) ||
    (a->ephemeral >= 0 && a->ephemeral == b->ephemeral);
}

/* "INDEX=" at the start of ARG: the index, and *REST after the '='. */
static long
parse_index (const char *arg, const char **rest)
{
  const char *p = arg;
  long v = parse_number (&p, 255);

  if (v < 0 || *p != '=')
    return -1;
  *rest = p + 1;
  return v;
}

int
convert_devmap_add_disk (struct convert_devmap *map, const char *arg,
                         struct v2v_error *err)
{
  struct devmap_disk e = { .letter = -1, .nvme = -1, .ephemeral = -1 };
  const char *names;
  long index = parse_index (arg, &names);
  CLEANUP_FREE char *copy = NULL;
  char *save = NULL;

  if (index < 0 || *names == '\0')
    return v2v_error_set (err, -EINVAL, "disk name '%s': expected "
                          "INDEX=NAME[,NAME...], e.g. 1=/dev/xvdf or "
                          "1=/dev/sdf,vol-0abc", arg);
  e.index = (int) index;
  if ((copy = strdup (names)) == NULL)
    return v2v_error_set (err, -ENOMEM, "disk name '%s'", arg);
  for (char *n = strtok_r (copy, ",", &save); n;
       n = strtok_r (NULL, ",", &save))
    if (disk_name_into (&e, n) < 0)
      return v2v_error_set (err, -EINVAL, "disk name '%s': '%s' is not an "
                            "EC2 device name (/dev/sdf, /dev/xvdf, xvdba), "
                            "a volume id (vol-0abc...) or ephemeralN", arg, n);
  if (e.ephemeral >= 0 && (e.volume[0] || e.nvme >= 0))
    return v2v_error_set (err, -EINVAL, "disk name '%s': an instance-store "
                          "volume (ephemeralN) has no volume id", arg);
  for (size_t i = 0; i < map->nr_disks; i++) {
    if (map->disks[i].index == e.index)
      return v2v_error_set (err, -EINVAL, "disk name '%s': disk %d is "
                            "named twice", arg, e.index);
    if (same_disk (&map->disks[i], &e))
      return v2v_error_set (err, -EINVAL, "disk name '%s': disk %d has "
                            "that name already", arg, map->disks[i].index);
  }
  struct devmap_disk *v = realloc (map->disks,
                                   (map->nr_disks + 1) * sizeof *v);
  if (v == NULL)
    return v2v_error_set (err, -ENOMEM, "disk name '%s'", arg);
  map->disks = v;
  map->disks[map->nr_disks++] = e;
  return 0;
}

int
convert_devmap_add_nic (struct convert_devmap *map, const char *arg,
                        struct v2v_error *err)
{
  struct devmap_nic e = { 0 };
  const char *mac;
  long index = parse_index (arg, &mac);

  if (index < 0 || !convert_internal_mac_normalize (mac, e.mac))
    return v2v_error_set (err, -EINVAL, "NIC '%s': expected INDEX=MAC, "
                          "e.g. 0=0a:1b:2c:3d:4e:5f (the ENI's device index "
                          "and MAC address)", arg);
  e.index = (int) index;
  for (size_t i = 0; i < map->nr_nics; i++)
    if (map->nics[i].index == e.index || strcmp (map->nics[i].mac, e.mac) == 0)
      return v2v_error_set (err, -EINVAL, "NIC '%s': device index %d or "
                            "that MAC is given twice", arg, e.index);
  struct devmap_nic *v = realloc (map->nics, (map->nr_nics + 1) * sizeof *v);
  if (v == NULL)
    return v2v_error_set (err, -ENOMEM, "NIC '%s'", arg);
  map->nics = v;
  /* Kept in device-index order: the VM's NICs are in that order. */
  size_t at = map->nr_nics;
  while (at > 0 && map->nics[at - 1].index > e.index) {
    map->nics[at] = map->nics[at - 1];
    at--;
  }
  map->nics[at] = e;
  map->nr_nics++;
  return 0;
}

int
convert_devmap_parse (struct convert_devmap *map, const char *text,
                      const char *origin, struct v2v_error *err)
{
  size_t entry = 0;

  for (const char *p = text; *p;) {
    size_t len = strcspn (p, "\n;");
    char line[256], *save = NULL, *word, *value;
    int r;

    entry++;
    if (len >= sizeof line)
      return v2v_error_set (err, -EINVAL, "%s: entry %zu is too long",
                            origin, entry);
    memcpy (line, p, len);
    line[len] = '\0';
    p += len + (p[len] != '\0');
    line[strcspn (line, "#")] = '\0';
    if ((word = strtok_r (line, " \t\r", &save)) == NULL)
      continue;                 /* blank, or a comment */
    value = strtok_r (NULL, " \t\r", &save);
    if (value == NULL || strtok_r (NULL, " \t\r", &save) != NULL)
      return v2v_error_set (err, -EINVAL, "%s: entry %zu: expected "
                            "'disk INDEX=NAME[,NAME...]' or 'nic INDEX=MAC'",
                            origin, entry);
    if (strcmp (word, "disk") == 0)
      r = convert_devmap_add_disk (map, value, err);
    else if (strcmp (word, "nic") == 0)
      r = convert_devmap_add_nic (map, value, err);
    else
      return v2v_error_set (err, -EINVAL, "%s: entry %zu: unknown kind "
                            "'%s' (disk or nic)", origin, entry, word);
    if (r < 0) {
      char msg[sizeof err->msg];
      snprintf (msg, sizeof msg, "%s", err->msg);
      return v2v_error_set (err, r, "%s: entry %zu: %s", origin, entry, msg);
    }
  }
  return 0;
}

int
convert_devmap_check (const struct convert_devmap *map, size_t nr_disks,
                      struct v2v_error *err)
{
  for (size_t i = 0; map && i < map->nr_disks; i++) {
    const struct devmap_disk *e = &map->disks[i];

    if (e->ephemeral < 0 && (size_t) e->index >= nr_disks)
      return v2v_error_set (err, -EINVAL, "device map: disk %d is named, "
                            "but there %s %zu disk%s (from 0): give its disk "
                            "too, or drop the name", e->index,
                            nr_disks == 1 ? "is" : "are", nr_disks,
                            nr_disks == 1 ? "" : "s");
    if (e->ephemeral >= 0 && (size_t) e->index < nr_disks)
      return v2v_error_set (err, -EINVAL, "device map: disk %d is given to "
                            "the conversion, but the map calls it instance "
                            "store (ephemeral%d), which is never migrated",
                            e->index, e->ephemeral);
  }
  return 0;
}

enum convert_place
convert_internal_devmap_place (const struct convert_devmap *map,
                               int root_disk, const char *spec,
                               struct convert_placement *ret)
{
  struct devmap_ident id;
  struct convert_placement pl = { .kind = PLACE_UNPLACED, .disk = -1,
                                  .ephemeral = -1 };

  if (convert_internal_devmap_ident (spec, &id) == IDENT_NONE) {
    pl.kind = PLACE_NOT_EC2;
    *ret = pl;
    return pl.kind;
  }
  pl.part = id.part;
  for (size_t i = 0; map && i < map->nr_disks; i++) {
    const struct devmap_disk *e = &map->disks[i];

    if ((id.form == IDENT_LETTER && e->letter == id.letter) ||
        (id.form == IDENT_NVME && e->nvme == id.nvme) ||
        (id.form == IDENT_VOLUME && strcmp (e->volume, id.volume) == 0)) {
      if (e->ephemeral >= 0) {
        pl.kind = PLACE_EPHEMERAL;
        pl.ephemeral = e->ephemeral;
      }
      else {
        pl.kind = PLACE_DISK;
        pl.disk = e->index;
      }
      *ret = pl;
      return pl.kind;
    }
  }
  /* The root volume is the one thing known without a map: EC2 names it
   * /dev/xvda or /dev/sda (the AMI's root device name), and on Nitro it
   * is always the first NVMe controller.
   */
  if (root_disk >= 0 && ((id.form == IDENT_LETTER && id.letter == 0) ||
                         (id.form == IDENT_NVME && id.nvme == 0))) {
    pl.kind = PLACE_DISK;
    pl.disk = root_disk;
  }
  *ret = pl;
  return pl.kind;
}

bool
convert_internal_mac_normalize (const char *s, char ret[18])
{
  unsigned b[6];
  char tail;

  if (strlen (s) != 17 ||
      sscanf (s, "%2x%*1[:-]%2x%*1[:-]%2x%*1[:-]%2x%*1[:-]%2x%*1[:-]%2x%c",
              &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
    return false;
  for (size_t i = 0; i < 17; i++)
    if (i % 3 == 2 ? (s[i] != ':' && s[i] != '-')
                   : !isxdigit ((unsigned char) s[i]))
      return false;
  snprintf (ret, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
            b[0], b[1], b[2], b[3], b[4], b[5]);
  return true;
}
