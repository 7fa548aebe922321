/* Internal to the EC2 client (ec2-creds.c, ec2-call.c, ec2-xml.c,
 * ec2-api.c), its unit tests and its fuzz target: the raw calls, the
 * XML and pagination.  The rest of the orchestrator uses ec2.h's typed
 * calls and never sees XML: this is the one header that includes
 * libxml2.
 */
#ifndef V2V_ORCHESTRATOR_EC2_INTERNAL_H
#define V2V_ORCHESTRATOR_EC2_INTERNAL_H

#include <stddef.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "cleanup.h"
#include "ec2.h"
#include "error.h"

/* One cleanup function and macro per libxml2 type we hold. */
DEFINE_CLEANUP_FUNC (xmlDocPtr, xmlFreeDoc)
DEFINE_CLEANUP_FUNC (xmlXPathContextPtr, xmlXPathFreeContext)
DEFINE_CLEANUP_FUNC (xmlXPathObjectPtr, xmlXPathFreeObject)
DEFINE_CLEANUP_FUNC (xmlParserCtxtPtr, xmlFreeParserCtxt)
#define CLEANUP_XMLDOC   __attribute__ ((cleanup (xmlFreeDoc_cleanup)))
#define CLEANUP_XPATHCTX __attribute__ ((cleanup (xmlXPathFreeContext_cleanup)))
#define CLEANUP_XPATHOBJ __attribute__ ((cleanup (xmlXPathFreeObject_cleanup)))
#define CLEANUP_XMLCTXT  __attribute__ ((cleanup (xmlFreeParserCtxt_cleanup)))

#define EC2_RESPONSE_MAX (16 * 1024 * 1024)

/* --- Calls (ec2-call.c) ------------------------------------------------ */

/* Call ACTION with PARAMS, a NULL-terminated list of name, value pairs
 * such as { "InstanceId.1", "i-0abc", NULL }.  On success sets *RET_DOC
 * to the parsed response, which the caller frees with xmlFreeDoc.
 *
 * Returns 0 or, with "ACTION: ..." in ERR (EC2 errors as
 * "ACTION: Code: Message"):
 *  -ENOENT   *.NotFound
 *  -EACCES   AuthFailure, UnauthorizedOperation, SignatureDoesNotMatch...
 *            (the message prefixed with the client's label)
 *  -EBUSY    IncorrectState, IncorrectInstanceState, VolumeInUse...
 *  -EAGAIN   still throttled at the retry deadline
 *  -EIO      still a 5xx at the retry deadline
 *  -EPROTO   a response that is not EC2's XML
 *  -EINVAL   any other EC2 error
 *  or an http_perform error (-ETIMEDOUT, -ECONNREFUSED...) still
 *  happening at the deadline.
 * ec2_client_last_error_code then gives EC2's code, if there was one.
 */
extern int ec2_call (struct ec2_client *c, const char *action,
                     const char *const *params, xmlDocPtr *ret_doc,
                     struct v2v_error *err);

/* Send ACTION once only when EC2 may have acted on it: a 5xx answer or
 * a lost connection ends the call with -EINPROGRESS (the outcome is
 * unknown: look for what it would have made before calling again).
 * Throttling, a refusal, is still retried.  For creates that take no
 * ClientToken, such as CreateSnapshots.
 */
#define EC2_CALL_NOT_IDEMPOTENT 1u

/* ec2_call with FLAGS (EC2_CALL_*). */
extern int ec2_call_flags (struct ec2_client *c, const char *action,
                           const char *const *params, unsigned flags,
                           xmlDocPtr *ret_doc, struct v2v_error *err);

/* What ec2_client_set_page_size set (0: none). */
extern unsigned ec2_internal_page_size (const struct ec2_client *c);

/* --- XML and pagination (ec2-xml.c) ------------------------------------ */

/* Parse LEN bytes of BODY, the response to ACTION, refusing DTDs and
 * bodies over the response cap.  Returns 0 and sets *RET (caller frees
 * with xmlFreeDoc), or -EPROTO/-E2BIG/-ENOMEM with ERR set.  The caller
 * has called xmlInitParser.
 */
extern int ec2_internal_parse_xml (const char *action, const char *body,
                                   size_t len, xmlDocPtr *ret,
                                   struct v2v_error *err);

/* Call a Describe* ACTION page by page, passing NextToken back until the
 * response has none, and call FN for each node matching ITEM_XPATH in
 * each page, e.g. the volumes of DescribeVolumes:
 *   "//" "*[local-name()='volumeSet']/" "*[local-name()='item']"
 * (split here only because a comment cannot hold a slash-star).
 * Stops and returns FN's result if FN returns < 0 (FN sets ERR if it
 * wants a message).  Returns 0, or ec2_call's errors, or -EINVAL for a
 * bad XPath, or -EPROTO if the server repeats a NextToken.
 */
extern int ec2_describe (struct ec2_client *c, const char *action,
                         const char *const *params, const char *item_xpath,
                         int (*fn) (xmlNodePtr item, void *opaque),
                         void *opaque, struct v2v_error *err);

/* The text of the first element found by following PATH, local names
 * separated by '/' such as "attachmentSet/item/instanceId", down from
 * NODE's children, ignoring namespaces.  Returns a string the caller
 * frees with free(), or NULL if there is no such element or no memory.
 */
extern char *ec2_xml_text (xmlNodePtr node, const char *path);

/* The same into OUT (LEN bytes, cut to fit), "" if there is none. */
extern void ec2_xml_copy (xmlNodePtr node, const char *path, char *out,
                          size_t len);

/* The same as a number, 0 if there is none or it is not one. */
extern int64_t ec2_xml_int (xmlNodePtr node, const char *path);

/* The element children of NODE's child NAME (a "...Set"), one by one:
 *   for (xmlNodePtr it = ec2_xml_items (n, "tagSet"); it;
 *        it = ec2_xml_next (it))
 */
extern xmlNodePtr ec2_xml_items (xmlNodePtr node, const char *name);
extern xmlNodePtr ec2_xml_next (xmlNodePtr node);

/* A tagSet as key, value, ..., NULL in *RET (a strv; NULL if there are
 * none).  Returns 0 or -ENOMEM.
 */
extern int ec2_xml_tags (xmlNodePtr item, char ***ret);

#endif /* V2V_ORCHESTRATOR_EC2_INTERNAL_H */
