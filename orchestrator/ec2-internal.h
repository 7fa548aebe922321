/* Internal to the EC2 client: what its fuzz target (tests/fuzz/) reaches
 * without a network.  Not for the rest of the orchestrator.
 */
#ifndef V2V_ORCHESTRATOR_EC2_INTERNAL_H
#define V2V_ORCHESTRATOR_EC2_INTERNAL_H

#include <stddef.h>

#include <libxml/tree.h>

#include "error.h"

/* Parse LEN bytes of BODY, the response to ACTION, refusing DTDs and
 * bodies over the response cap.  Returns 0 and sets *RET (caller frees
 * with xmlFreeDoc), or -EPROTO/-E2BIG/-ENOMEM with ERR set.  The caller
 * has called xmlInitParser.
 */
extern int ec2_internal_parse_xml (const char *action, const char *body,
                                   size_t len, xmlDocPtr *ret,
                                   struct v2v_error *err);

#endif /* V2V_ORCHESTRATOR_EC2_INTERNAL_H */
