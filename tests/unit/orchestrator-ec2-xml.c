/* The EC2 client's XML: hostile or broken responses are refused, and
 * Describe* calls follow their pages (on the scripted endpoint,
 * ec2-testsrv.h).
 */
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "orchestrator-ec2-test.h"

TestSuite (ec2, .init = ec2_test_setup, .fini = ec2_srv_stop);

/* Hostile or broken responses. */

Test (ec2, billion_laughs_is_refused)
{
  struct ec2_srv_reply r[] = {
    { 200,
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE lolz [\n"
      " <!ENTITY lol \"lol\">\n"
      " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
      " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
      " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
      " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
      " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
      " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
      " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
      " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
      " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
      "]>\n"
      "<DescribeVolumesResponse><volumeSet><item><volumeId>&lol9;</volumeId>"
      "</item></volumeSet></DescribeVolumesResponse>", NULL },
  };
  struct ec2_client *c = new_client (NULL);
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;

  ec2_srv_script (r, 1);
  cr_assert_eq (ec2_call (c, "DescribeVolumes", NULL, &doc, &err), -EPROTO);
  cr_assert_str_eq (err.msg, "DescribeVolumes: response has a DTD "
                    "(refused, EC2 never sends one)");
  cr_assert_null (doc);
  ec2_client_free (c);
}

Test (ec2, utf16_cannot_hide_a_dtd)
{
  /* "<!DOCTYPE" in UTF-16LE is not found by a byte search, but the
   * encoding is forced to UTF-8, so the document does not parse.
   */
  static const char body[] =
    "\xff\xfe<\0!\0D\0O\0C\0T\0Y\0P\0E\0 \0x\0>\0<\0x\0/\0>\0";
  struct ec2_srv_reply r[] = { { 200, body, NULL } };
  struct ec2_client *c = new_client (NULL);
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;

  ec2_srv_script (r, 1);
  ec2_srv.body_len = sizeof body - 1;
  cr_assert_eq (ec2_call (c, "DescribeVolumes", NULL, &doc, &err), -EPROTO);
  cr_assert_prefix (err.msg, "DescribeVolumes: response is not usable XML: ");
  ec2_client_free (c);
}

Test (ec2, malformed_xml_is_eproto)
{
  struct ec2_srv_reply r[] = { { 200, "<DescribeVolumesResponse><a>", NULL } };
  struct ec2_client *c = new_client (NULL);
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;

  ec2_srv_script (r, 1);
  cr_assert_eq (ec2_call (c, "DescribeVolumes", NULL, &doc, &err), -EPROTO);
  cr_assert_prefix (err.msg, "DescribeVolumes: response is not usable XML: "
                    "line ");
  cr_assert_null (doc);
  ec2_client_free (c);
}

/* Pagination. */

#define PAGE(items, token) \
  "<DescribeVolumesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">" \
  "<requestId>r</requestId><volumeSet>" items "</volumeSet>" token \
  "</DescribeVolumesResponse>"
#define ITEM(id) \
  "<item><volumeId>" id "</volumeId><attachmentSet><item>" \
  "<instanceId>i-" id "</instanceId></item></attachmentSet></item>"
#define VOLUME_ITEMS \
  "//*[local-name()='volumeSet']/*[local-name()='item']"

struct collected {
  char ids[8][32];
  unsigned n;
  unsigned stop_after;          /* 0: never */
};

static int
collect (xmlNodePtr item, void *opaque)
{
  struct collected *col = opaque;
  char *id = ec2_xml_text (item, "volumeId");
  char *inst = ec2_xml_text (item, "attachmentSet/item/instanceId");

  cr_assert_not_null (id);
  cr_assert_not_null (inst);
  cr_assert_eq (strncmp (inst, "i-", 2), 0);
  cr_assert_str_eq (inst + 2, id);
  cr_assert_lt (col->n, 8);
  snprintf (col->ids[col->n++], sizeof col->ids[0], "%s", id);
  free (id);
  free (inst);
  if (col->stop_after && col->n == col->stop_after)
    return -ECANCELED;
  return 0;
}

Test (ec2, describe_follows_next_token_over_three_pages)
{
  struct ec2_srv_reply r[] = {
    { 200, PAGE (ITEM ("v1") ITEM ("v2"), "<nextToken>tok/1+=</nextToken>"),
      NULL },
    { 200, PAGE (ITEM ("v3") ITEM ("v4"), "<nextToken>tok2</nextToken>"),
      NULL },
    { 200, PAGE (ITEM ("v5"), ""), NULL },
  };
  const char *params[] = { "MaxResults", "2", NULL };
  struct ec2_client *c = new_client (NULL);
  struct collected col = { .n = 0 };
  struct v2v_error err = { 0 };

  ec2_srv_script (r, 3);
  cr_assert_eq (ec2_describe (c, "DescribeVolumes", params, VOLUME_ITEMS,
                              collect, &col, &err), 0, "%s", err.msg);
  cr_assert_eq (col.n, 5);
  for (unsigned i = 0; i < 5; i++) {
    char want[8];

    snprintf (want, sizeof want, "v%u", i + 1);
    cr_assert_str_eq (col.ids[i], want);
  }
  cr_assert_eq (ec2_srv.count, 3);
  cr_assert_str_eq (ec2_srv.req[0].body.data,
                    "Action=DescribeVolumes&Version=2016-11-15&MaxResults=2");
  cr_assert_str_eq (ec2_srv.req[1].body.data,
                    "Action=DescribeVolumes&Version=2016-11-15&MaxResults=2"
                    "&NextToken=tok%2F1%2B%3D");
  cr_assert_str_eq (ec2_srv.req[2].body.data,
                    "Action=DescribeVolumes&Version=2016-11-15&MaxResults=2"
                    "&NextToken=tok2");
  cr_assert_eq (ec2_client_calls (c, "DescribeVolumes"), 3);
  ec2_client_free (c);
}

Test (ec2, describe_stops_when_callback_fails)
{
  struct ec2_srv_reply r[] = {
    { 200, PAGE (ITEM ("v1") ITEM ("v2"), "<nextToken>t</nextToken>"), NULL },
  };
  struct ec2_client *c = new_client (NULL);
  struct collected col = { .stop_after = 1 };

  ec2_srv_script (r, 1);
  cr_assert_eq (ec2_describe (c, "DescribeVolumes", NULL, VOLUME_ITEMS,
                              collect, &col, NULL), -ECANCELED);
  cr_assert_eq (col.n, 1);
  cr_assert_eq (ec2_srv.count, 1);
  ec2_client_free (c);
}

Test (ec2, describe_repeated_token_is_eproto)
{
  struct ec2_srv_reply r[] = {
    { 200, PAGE (ITEM ("v1"), "<nextToken>same</nextToken>"), NULL },
  };
  struct ec2_client *c = new_client (NULL);
  struct collected col = { .n = 0 };
  struct v2v_error err = { 0 };

  ec2_srv_script (r, 1);
  cr_assert_eq (ec2_describe (c, "DescribeVolumes", NULL, VOLUME_ITEMS,
                              collect, &col, &err), -EPROTO);
  cr_assert_str_eq (err.msg, "DescribeVolumes: the server repeated NextToken");
  cr_assert_eq (ec2_srv.count, 2);
  ec2_client_free (c);
}

Test (ec2, describe_bad_xpath_is_einval)
{
  struct ec2_client *c = new_client (NULL);
  struct collected col = { .n = 0 };
  struct v2v_error err = { 0 };

  cr_assert_eq (ec2_describe (c, "DescribeVolumes", NULL, "//[", collect,
                              &col, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "DescribeVolumes: invalid XPath \"//[\"");
  ec2_client_free (c);
}

Test (ec2, describe_error_is_returned)
{
  struct ec2_srv_reply r[] = {
    { 400, ERROR_BODY ("InvalidVolume.NotFound", "no vol-9"), NULL },
  };
  struct ec2_client *c = new_client (NULL);
  struct collected col = { .n = 0 };
  struct v2v_error err = { 0 };

  ec2_srv_script (r, 1);
  cr_assert_eq (ec2_describe (c, "DescribeVolumes", NULL, VOLUME_ITEMS,
                              collect, &col, &err), -ENOENT);
  cr_assert_str_eq (err.msg, "DescribeVolumes: InvalidVolume.NotFound: "
                    "no vol-9");
  ec2_client_free (c);
}
