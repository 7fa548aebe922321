/* The run's /inspection document, in the layout of
 * virt-v2v-inspector(1) (see status.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "status-internal.h"
#include "utf8.h"

/* Append S as XML character data or attribute value (both quotes
 * escaped, so either context is safe).  XML 1.0 forbids most control
 * characters even as references, and invalid UTF-8 makes the whole
 * document unreadable, so both become '?'.
 */
static int
xml_text (struct buf *out, const char *s)
{
  size_t i = 0, len = strlen (s);
  int r = 0;

  while (i < len && r == 0) {
    const unsigned char *p = (const unsigned char *) s + i;
    size_t n = utf8_char_len (p, len - i);

    if (n == 0) {
      r = buf_append (out, "?", 1);
      i++;
      continue;
    }
    switch (*p) {
    case '&':  r = buf_append (out, "&amp;", 5); break;
    case '<':  r = buf_append (out, "&lt;", 4); break;
    case '>':  r = buf_append (out, "&gt;", 4); break;
    case '"':  r = buf_append (out, "&quot;", 6); break;
    case '\'': r = buf_append (out, "&apos;", 6); break;
    default:
      /* Control characters but tab and newlines, U+FFFE and U+FFFF. */
      if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') ||
          (n == 3 && p[0] == 0xef && p[1] == 0xbf && p[2] >= 0xbe))
        r = buf_append (out, "?", 1);
      else
        r = buf_append (out, p, n);
    }
    i += n;
  }
  return r;
}

/* <NAME>TEXT</NAME> at INDENT, or nothing when TEXT is NULL or empty. */
static int
xml_element (struct buf *out, int indent, const char *name, const char *text)
{
  int r;

  if (text == NULL || *text == '\0')
    return 0;
  if ((r = buf_printf (out, "%*s<%s>", indent, "", name)) < 0 ||
      (r = xml_text (out, text)) < 0 ||
      (r = buf_printf (out, "</%s>\n", name)) < 0)
    return r;
  return 0;
}

/* libguestfs's guestfs_inspect_get_package_management, for the distros
 * convert/ supports, when the report does not say.
 */
static const char *
package_management (const char *distro, int64_t major)
{
  static const char *const apt[] = { "debian", "ubuntu", "linuxmint", NULL };
  static const char *const zypper[] = { "opensuse", "sles", "suse", NULL };
  static const char *const el[] = {
    "rhel", "centos", "rocky", "almalinux", "oraclelinux", "scientificlinux",
    "redhat-based", "circle", NULL
  };

  if (distro == NULL)
    return NULL;
  for (size_t i = 0; apt[i]; i++)
    if (strcmp (distro, apt[i]) == 0)
      return "apt";
  for (size_t i = 0; zypper[i]; i++)
    if (strcmp (distro, zypper[i]) == 0)
      return "zypper";
  if (strcmp (distro, "fedora") == 0)
    return "dnf";
  if (strcmp (distro, "amazonlinux") == 0)
    return major >= 2022 ? "dnf" : "yum";
  for (size_t i = 0; el[i]; i++)
    if (strcmp (distro, el[i]) == 0)
      return major >= 8 ? "dnf" : "yum";
  if (strcmp (distro, "archlinux") == 0)
    return "pacman";
  if (strcmp (distro, "alpinelinux") == 0)
    return "apk";
  return NULL;
}

/* Called with the lock held. */
static int
inspection_xml_locked (struct agent_status *st, struct buf *out)
{
  const struct agent_report *rep = st->report;
  const struct agent_report_guest *g;
  const char *pm;
  int r;

  if (rep == NULL || !rep->has_guest)
    return -ENOENT;
  g = &rep->guest;

#define TRY(e) do { if ((r = (e)) < 0) return r; } while (0)
  /* The layout of virt-v2v-inspector(1), so tools that read its output
   * can read ours: program, package and version first, then the disks,
   * the firmware outside <operatingsystem> (it is not part of the OS),
   * and the operating system with virt-inspector's element names.
   */
  TRY (buf_printf (out, "<?xml version='1.0' encoding='utf-8'?>\n"
                   "<v2v-inspection>\n"
                   "  <program>v2v-agent</program>\n"
                   "  <package>v2v-kubevirt</package>\n"));
  TRY (xml_element (out, 2, "version", V2V_VERSION));

  if (rep->nr_disks > 0) {
    TRY (buf_printf (out, "  <disks>\n"));
    for (size_t i = 0; i < rep->nr_disks; i++) {
      const struct agent_report_disk *d = &rep->disks[i];

      TRY (buf_printf (out, "    <disk index='%" PRId64 "'>\n", d->index));
      if (d->has_size)
        TRY (buf_printf (out, "      <virtual-size>%" PRId64
                         "</virtual-size>\n", d->size));
      TRY (buf_printf (out, "    </disk>\n"));
    }
    TRY (buf_printf (out, "  </disks>\n"));
  }

  if (g->firmware) {
    TRY (buf_printf (out, "  <firmware type='"));
    TRY (xml_text (out, g->firmware));
    TRY (buf_printf (out, "'/>\n"));
  }

  TRY (buf_printf (out, "  <operatingsystem>\n"));
  TRY (xml_element (out, 4, "name", g->type));
  TRY (xml_element (out, 4, "distro", g->distro));
  TRY (xml_element (out, 4, "osinfo", g->osinfo));
  TRY (xml_element (out, 4, "arch", g->arch));
  TRY (buf_printf (out, "    <major_version>%" PRId64 "</major_version>\n"
                   "    <minor_version>%" PRId64 "</minor_version>\n",
                   g->has_version ? g->major : 0,
                   g->has_version ? g->minor : 0));
  TRY (xml_element (out, 4, "package_format", g->package_format));
  pm = g->package_management;
  if (pm == NULL)
    pm = package_management (g->distro, g->has_version ? g->major : 0);
  TRY (xml_element (out, 4, "package_management", pm));
  TRY (xml_element (out, 4, "product_name", g->product));
  if (g->windows) {
    TRY (xml_element (out, 4, "product_variant", g->windows_variant));
    TRY (xml_element (out, 4, "windows_systemroot", g->windows_systemroot));
  }
  TRY (xml_element (out, 4, "root", g->root));

  /* Mount points as virt-inspector gives them: device in an attribute,
   * path as text.  Only entries that resolved to a migrated disk are
   * here (report-read.c).
   */
  TRY (buf_printf (out, "    <mountpoints>\n"));
  for (size_t i = 0; i < g->nr_mounts; i++) {
    TRY (buf_printf (out, "      <mountpoint dev='"));
    TRY (xml_text (out, g->mounts[i].device));
    TRY (buf_printf (out, "'>"));
    TRY (xml_text (out, g->mounts[i].mountpoint));
    TRY (buf_printf (out, "</mountpoint>\n"));
  }
  TRY (buf_printf (out, "    </mountpoints>\n"
                   "  </operatingsystem>\n"
                   "</v2v-inspection>\n"));
#undef TRY
  return 0;
}

int
agent_status_inspection_xml (struct agent_status *st, struct buf *out)
{
  int r;

  pthread_mutex_lock (&st->lock);
  r = inspection_xml_locked (st, out);
  pthread_mutex_unlock (&st->lock);
  return r;
}
