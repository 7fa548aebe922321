/* Line-oriented text helpers for editing guest config files. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Split TEXT (LEN bytes, need not be NUL-terminated) into a NULL-terminated
 * array of lines without their newlines.  A trailing newline does not make
 * an empty last line.  Caller frees with strv_free.
 */
char **
convert_internal_split_lines (const char *text, size_t len)
{
  size_t n = 1, i = 0;
  char **lines;

  for (size_t k = 0; k < len; k++)
    if (text[k] == '\n')
      n++;
  lines = calloc (n + 1, sizeof *lines);
  if (lines == NULL)
    return NULL;
  for (size_t start = 0; start < len;) {
    const char *nl = memchr (text + start, '\n', len - start);
    size_t end = nl ? (size_t) (nl - text) : len;
    lines[i] = strndup (text + start, end - start);
    if (lines[i] == NULL) {
      strv_free (lines);
      return NULL;
    }
    i++;
    start = end + 1;
  }
  return lines;
}

/* Join lines with newlines, each line terminated.  Caller frees. */
char *
convert_internal_join_lines (char *const *lines)
{
  size_t total = 1;
  char *out, *p;

  for (size_t i = 0; lines[i]; i++)
    total += strlen (lines[i]) + 1;
  out = p = malloc (total);
  if (out == NULL)
    return NULL;
  for (size_t i = 0; lines[i]; i++) {
    size_t l = strlen (lines[i]);
    memcpy (p, lines[i], l);
    p += l;
    *p++ = '\n';
  }
  *p = '\0';
  return out;
}

static bool
is_word_char (char c)
{
  return c && !strchr (" \t\"'\n", c);
}

/* Replace every whitespace-delimited word of S that equals FROM by TO.
 * Words are delimited by blanks or quotes, so "console=hvc0" inside
 * GRUB_CMDLINE_LINUX="... console=hvc0" matches.  Caller frees.
 */
char *
convert_internal_replace_word (const char *s, const char *from, const char *to)
{
  size_t flen = strlen (from), tlen = strlen (to);
  size_t cap = strlen (s) + 1, n = 0;
  char *out;

  for (const char *p = strstr (s, from); p; p = strstr (p + flen, from))
    cap += tlen;
  out = malloc (cap);
  if (out == NULL)
    return NULL;
  for (const char *p = s; *p;) {
    if (strncmp (p, from, flen) == 0 &&
        (p == s || !is_word_char (p[-1])) && !is_word_char (p[flen])) {
      memcpy (out + n, to, tlen);
      n += tlen;
      p += flen;
    }
    else
      out[n++] = *p++;
  }
  out[n] = '\0';
  return out;
}

/* Append NAME (trimmed of blanks and quotes) to the comma list *OUT. */
static void
ds_append (char *out, size_t len, const char *name, size_t n)
{
  while (n > 0 && strchr (" \t\"'", *name)) {
    name++;
    n--;
  }
  while (n > 0 && strchr (" \t\"'", name[n - 1]))
    n--;
  if (n == 0 || strlen (out) + n + 2 > len)
    return;
  if (*out)
    strcat (out, ",");
  strncat (out, name, n);
}

char *
convert_internal_datasource_list (const char *text)
{
  CLEANUP_STRV char **lines = NULL;
  char list[512];
  bool found = false;

  if (text == NULL ||
      (lines = convert_internal_split_lines (text, strlen (text))) == NULL)
    return NULL;
  for (size_t i = 0; lines[i]; i++) {
    char *l = lines[i];
    char *hash = strchr (l, '#');

    if (hash)
      *hash = '\0';             /* no datasource name holds a '#' */
    if (strncmp (l, "datasource_list:", 16) != 0)
      continue;
    found = true;
    list[0] = '\0';
    const char *v = l + 16 + strspn (l + 16, " \t");
    if (*v == '[') {
      /* Flow style: datasource_list: [ Ec2, None ] */
      const char *end = strchr (v, ']');
      if (end == NULL)
        end = v + strlen (v);
      for (const char *p = v + 1; p < end;) {
        size_t n = strcspn (p, ",]");
        if (p + n > end)
          n = end - p;
        ds_append (list, sizeof list, p, n);
        p += n + 1;
      }
    }
    else {
      /* Block style: the "- Name" lines that follow. */
      for (size_t j = i + 1; lines[j]; j++) {
        const char *p = lines[j] + strspn (lines[j], " \t");
        if (*p != '-')
          break;
        p++;
        ds_append (list, sizeof list, p, strcspn (p, "#"));
      }
    }
  }
  return found ? strdup (list) : NULL;
}

char *
convert_internal_os_release_get (const char *text, const char *key)
{
  size_t kl = strlen (key);

  for (const char *l = text; l && *l;) {
    const char *nl = strchr (l, '\n');
    if (strncmp (l, key, kl) == 0 && l[kl] == '=') {
      const char *v = l + kl + 1;
      size_t n = strcspn (v, "\n");
      if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        v++;
        n -= 2;
      }
      return strndup (v, n);
    }
    l = nl ? nl + 1 : NULL;
  }
  return NULL;
}
