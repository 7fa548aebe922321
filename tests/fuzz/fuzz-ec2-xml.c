/* libFuzzer target: EC2 Query API responses (orchestrator/ec2.c), which
 * come over the network.  The body goes through the same check and parse
 * as a real response, then ec2_xml_text reads the paths the client reads
 * (errors, describe pages, single values).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <libxml/parser.h>

#include "ec2.h"
#include "ec2-internal.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

static const char *const paths[] = {
  "Errors/Error/Code", "Errors/Error/Message", "RequestId", "nextToken",
  "volumeId", "status", "snapshotId", "progress", "instanceId",
  "reservationSet/item/instancesSet/item/instanceId",
  "instanceState/name", "attachmentSet/item/state", "", "/", "a//b",
};

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  xmlInitParser ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct v2v_error err = { 0 };
  xmlDocPtr doc = NULL;
  xmlNodePtr root;

  if (ec2_internal_parse_xml ("FuzzAction", (const char *) data, size, &doc,
                              &err) < 0)
    return 0;
  root = xmlDocGetRootElement (doc);
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
    free (ec2_xml_text (root, paths[i]));
  for (xmlNodePtr n = root ? root->children : NULL; n; n = n->next)
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
      free (ec2_xml_text (n, paths[i]));
  xmlFreeDoc (doc);
  return 0;
}
