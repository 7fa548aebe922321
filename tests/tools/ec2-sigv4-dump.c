/* Send one signed EC2 request to the scripted endpoint and print it, as
 * the server received it, in JSON for ec2-sigv4-verify.py:
 *
 *   ec2-sigv4-dump SECRET [SESSION_TOKEN] > request.json
 *
 * {"method": ..., "path": ..., "headers": [[name, value]...], "body": ...}
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "ec2.h"
#include "ec2-internal.h"
#include "ec2-testsrv.h"
#include "json.h"

int
main (int argc, char **argv)
{
  struct ec2_credentials creds = { .access_key_id = (char *) "AKIDEXAMPLE" };
  /* Characters that SigV4's canonical form and form encoding treat
   * differently: space, '/', '+', '=', '~', '*', UTF-8.
   */
  const char *params[] = {
    "Filter.1.Name", "tag:Name",
    "Filter.1.Value.1", "web server/01+x=y~z*\xc3\xa9",
    "MaxResults", "5",
    NULL,
  };
  struct ec2_client *c = NULL;
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;
  struct json_object *o, *headers;
  const char *p;

  if (argc < 2 || argc > 3) {
    fprintf (stderr, "usage: %s SECRET [SESSION_TOKEN]\n", argv[0]);
    return 2;
  }
  creds.secret_access_key = argv[1];
  creds.session_token = argc == 3 ? argv[2] : NULL;
  curl_global_init (CURL_GLOBAL_DEFAULT);
  if (ec2_srv_start () < 0) {
    fprintf (stderr, "ec2-sigv4-dump: cannot start the server\n");
    return 1;
  }
  if (ec2_client_new ("us-west-2", ec2_srv.endpoint, &creds, &c, &err) < 0 ||
      ec2_call (c, "DescribeVolumes", params, &doc, &err) < 0) {
    fprintf (stderr, "ec2-sigv4-dump: %s\n", err.msg);
    return 1;
  }

  o = json_object_new_object ();
  headers = json_object_new_array ();
  json_object_object_add (o, "method",
                          json_object_new_string (ec2_srv.req[0].method));
  json_object_object_add (o, "path",
                          json_object_new_string (ec2_srv.req[0].path));
  for (p = ec2_srv.req[0].headers.data; p && *p; ) {
    const char *eol = strchr (p, '\n'), *colon = strchr (p, ':');
    struct json_object *h = json_object_new_array ();

    json_object_array_add (h, json_object_new_string_len (p, (int) (colon - p)));
    json_object_array_add (h, json_object_new_string_len (colon + 2,
                                                          (int) (eol - colon - 2)));
    json_object_array_add (headers, h);
    p = eol + 1;
  }
  json_object_object_add (o, "headers", headers);
  json_object_object_add (o, "body",
                          json_object_new_string (ec2_srv.req[0].body.data));
  printf ("%s\n", json_object_to_json_string_ext (o, JSON_C_TO_STRING_PRETTY));
  json_object_put (o);
  xmlFreeDoc (doc);
  ec2_client_free (c);
  ec2_srv_stop ();
  return 0;
}
