/* The EC2 client's XML: parsing responses safely, Describe* pagination,
 * and reading elements; see ec2-internal.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "ec2-internal.h"
#include "strv.h"

#define EC2_DESCRIBE_MAX_PAGES 10000

static void
xml_quiet (void *opaque, xmlErrorPtr error)
{
  (void) opaque;
  (void) error;
}

/* Parse a response.  EC2 never sends a DTD, and a DTD is how entity
 * expansion attacks (billion laughs, external entities) start, so any
 * document with one is refused before libxml2 sees it; the encoding is
 * forced to UTF-8 so that the check cannot be dodged with UTF-16.
 * Errors go to the parser context, not to stderr.
 */
int
ec2_internal_parse_xml (const char *action, const char *body, size_t len,
                        xmlDocPtr *ret, struct v2v_error *err)
{
  CLEANUP_XMLCTXT xmlParserCtxtPtr ctxt = NULL;
  xmlDocPtr doc;

  if (memmem (body, len, "<!DOCTYPE", 9) || memmem (body, len, "<!ENTITY", 8))
    return v2v_error_set (err, -EPROTO, "%s: response has a DTD "
                          "(refused, EC2 never sends one)", action);
  if (len > EC2_RESPONSE_MAX)
    return v2v_error_set (err, -E2BIG, "%s: response is too large", action);

  ctxt = xmlNewParserCtxt ();
  if (ctxt == NULL)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  ctxt->sax->serror = xml_quiet;
  doc = xmlCtxtReadMemory (ctxt, body, (int) len, "ec2-response.xml",
                           "UTF-8", XML_PARSE_NONET | XML_PARSE_NOERROR |
                           XML_PARSE_NOWARNING);
  if (doc == NULL || doc->intSubset || doc->extSubset ||
      xmlDocGetRootElement (doc) == NULL) {
    xmlErrorPtr e = xmlCtxtGetLastError (ctxt);
    char msg[256] = "no root element";

    if (doc && (doc->intSubset || doc->extSubset))
      snprintf (msg, sizeof msg, "has a DTD (refused)");
    else if (e && e->message) {
      snprintf (msg, sizeof msg, "line %d: %s", e->line, e->message);
      msg[strcspn (msg, "\n")] = '\0';
    }
    xmlFreeDoc (doc);
    return v2v_error_set (err, -EPROTO, "%s: response is not usable XML: %s",
                          action, msg);
  }
  *ret = doc;
  return 0;
}

/* EC2 error codes by meaning.  Codes ending in ".NotFound" are -ENOENT.
 * The throttling codes are botocore's (data/_retry.json and
 * retries/standard.py), narrowed to those EC2 can send.
 */

/* Pagination. */

/* PARAMS with NextToken set to TOKEN, replacing any the caller gave. */
static const char **
params_with_token (const char *const *params, const char *token)
{
  size_t n = 0, j = 0;
  const char **p;

  while (params && params[n])
    n += 2;
  p = calloc (n + 3, sizeof *p);
  if (p == NULL)
    return NULL;
  for (size_t i = 0; i < n; i += 2)
    if (strcmp (params[i], "NextToken") != 0) {
      p[j++] = params[i];
      p[j++] = params[i + 1];
    }
  if (token) {
    p[j++] = "NextToken";
    p[j++] = token;
  }
  return p;
}

static int
describe_page (xmlDocPtr doc, const char *action, const char *item_xpath,
               int (*fn) (xmlNodePtr item, void *opaque), void *opaque,
               struct v2v_error *err)
{
  CLEANUP_XPATHCTX xmlXPathContextPtr xc = NULL;
  CLEANUP_XPATHOBJ xmlXPathObjectPtr xo = NULL;
  xmlNodeSetPtr nodes;

  xc = xmlXPathNewContext (doc);
  if (xc == NULL)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  /* Errors to the context, not stderr. */
  xc->error = xml_quiet;
  xo = xmlXPathEvalExpression ((const xmlChar *) item_xpath, xc);
  if (xo == NULL)
    return v2v_error_set (err, -EINVAL, "%s: invalid XPath \"%.200s\"",
                          action, item_xpath);
  nodes = xo->nodesetval;
  for (int i = 0; nodes && i < nodes->nodeNr; i++) {
    int r = fn (nodes->nodeTab[i], opaque);

    if (r < 0)
      return r;
  }
  return 0;
}

int
ec2_describe (struct ec2_client *c, const char *action,
              const char *const *params, const char *item_xpath,
              int (*fn) (xmlNodePtr item, void *opaque), void *opaque,
              struct v2v_error *err)
{
  CLEANUP_FREE char *token = NULL;

  if (item_xpath == NULL || fn == NULL)
    return v2v_error_set (err, -EINVAL, "ec2_describe: no XPath or callback");
  for (unsigned page = 0; ; page++) {
    CLEANUP_FREE const char **p = NULL;
    CLEANUP_XMLDOC xmlDocPtr doc = NULL;
    char *next;
    int r;

    if (page == EC2_DESCRIBE_MAX_PAGES)
      return v2v_error_set (err, -EPROTO, "%s: more than %u pages", action,
                            EC2_DESCRIBE_MAX_PAGES);
    p = params_with_token (params, token);
    if (p == NULL)
      return v2v_error_set (err, -ENOMEM, "out of memory");
    r = ec2_call (c, action, p, &doc, err);
    if (r < 0)
      return r;
    r = describe_page (doc, action, item_xpath, fn, opaque, err);
    if (r < 0)
      return r;

    next = ec2_xml_text (xmlDocGetRootElement (doc), "nextToken");
    if (next == NULL || *next == '\0') {
      free (next);
      return 0;
    }
    /* A server handing back the token it was given would loop forever. */
    if (token && strcmp (next, token) == 0) {
      free (next);
      return v2v_error_set (err, -EPROTO, "%s: the server repeated "
                            "NextToken", action);
    }
    free (token);
    token = next;
  }
}

/* XML helpers. */

static xmlNodePtr
find_path (xmlNodePtr node, const char *path)
{
  size_t n = strcspn (path, "/");

  if (n == 0)
    return node;
  for (xmlNodePtr ch = node->children; ch; ch = ch->next) {
    xmlNodePtr found;

    if (ch->type != XML_ELEMENT_NODE ||
        strlen ((const char *) ch->name) != n ||
        memcmp (ch->name, path, n) != 0)
      continue;
    found = find_path (ch, path[n] == '/' ? path + n + 1 : path + n);
    if (found)
      return found;
  }
  return NULL;
}

char *
ec2_xml_text (xmlNodePtr node, const char *path)
{
  xmlNodePtr found;
  xmlChar *text;
  char *ret;

  if (node == NULL || path == NULL)
    return NULL;
  found = find_path (node, path);
  if (found == NULL)
    return NULL;
  text = xmlNodeGetContent (found);
  if (text == NULL)
    return NULL;
  ret = strdup ((const char *) text);
  xmlFree (text);
  return ret;
}

void
ec2_xml_copy (xmlNodePtr node, const char *path, char *out, size_t len)
{
  CLEANUP_FREE char *t = ec2_xml_text (node, path);

  snprintf (out, len, "%s", t ? t : "");
}

int64_t
ec2_xml_int (xmlNodePtr node, const char *path)
{
  CLEANUP_FREE char *t = ec2_xml_text (node, path);
  char *end;
  long long v;

  if (t == NULL || *t == '\0')
    return 0;
  errno = 0;
  v = strtoll (t, &end, 10);
  return errno || *end ? 0 : v;
}

xmlNodePtr
ec2_xml_next (xmlNodePtr node)
{
  for (node = node ? node->next : NULL; node; node = node->next)
    if (node->type == XML_ELEMENT_NODE)
      return node;
  return NULL;
}

xmlNodePtr
ec2_xml_items (xmlNodePtr node, const char *name)
{
  xmlNodePtr set = node ? find_path (node, name) : NULL;

  if (set == NULL || set->children == NULL)
    return NULL;
  if (set->children->type == XML_ELEMENT_NODE)
    return set->children;
  return ec2_xml_next (set->children);
}

int
ec2_xml_tags (xmlNodePtr item, char ***ret)
{
  CLEANUP_STRV char **tags = NULL;

  for (xmlNodePtr t = ec2_xml_items (item, "tagSet"); t; t = ec2_xml_next (t)) {
    char *key = ec2_xml_text (t, "key");
    char *value = ec2_xml_text (t, "value");

    if (value == NULL)
      value = strdup ("");
    if (key == NULL || value == NULL) {
      free (key);
      free (value);
      return -ENOMEM;
    }
    /* strv_push frees what it could not take. */
    if (strv_push (&tags, key) < 0) {
      free (value);
      return -ENOMEM;
    }
    if (strv_push (&tags, value) < 0)
      return -ENOMEM;
  }
  *ret = TAKE_PTR (tags);
  return 0;
}
