/* An EC2 Query API client (Version 2016-11-15): credentials, signed
 * requests with retries, error translation and Describe* pagination.
 *
 * Requests are POSTs of form-encoded parameters, signed with AWS SigV4 by
 * libcurl (common/http.h).  Responses are parsed with libxml2, without
 * network access and refusing any DTD, so no entity is ever expanded.
 *
 * A client is not thread-safe: use one per thread.  Call
 * curl_global_init and xmlInitParser from main() before starting threads.
 *
 * Retries: throttling, 5xx and transport errors are retried with
 * exponential backoff and full jitter until a deadline, so a request may
 * be sent more than once.  Pass a ClientToken to Create* and RunInstances
 * to make them idempotent.
 */
#ifndef V2V_ORCHESTRATOR_EC2_H
#define V2V_ORCHESTRATOR_EC2_H

#include <stdint.h>

#include <libxml/tree.h>

#include "backoff.h"
#include "error.h"

#define EC2_API_VERSION "2016-11-15"

struct ec2_credentials {
  char *access_key_id;
  char *secret_access_key;
  char *session_token;          /* NULL without one */
  char source[128];             /* where they came from, for messages */
};

/* Load credentials from, in order:
 *  1. SECRET_DIR if not NULL (a mounted Secret), and nothing else: files
 *     aws_access_key_id (or accessKeyId), aws_secret_access_key (or
 *     secretAccessKey) and optionally aws_session_token (or sessionToken);
 *  2. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
 *  3. the shared credentials file, AWS_SHARED_CREDENTIALS_FILE or
 *     ~/.aws/credentials, profile AWS_PROFILE or "default".
 * On success fills *RET, which the caller frees with ec2_credentials_free.
 * Returns 0, -ENOENT (nothing found; the message says what to set),
 * -EINVAL (incomplete), or an error reading a file.  Secrets never
 * appear in messages.
 */
extern int ec2_credentials_load (const char *secret_dir,
                                 struct ec2_credentials *ret,
                                 struct v2v_error *err);

/* Zero the secrets and free them.  Accepts a zeroed or freed struct. */
extern void ec2_credentials_free (struct ec2_credentials *c);

struct ec2_client;

/* Create a client for REGION (NULL: AWS_REGION, then AWS_DEFAULT_REGION).
 * The endpoint is ENDPOINT if not NULL, else AWS_ENDPOINT_URL_EC2, else
 * AWS_ENDPOINT_URL, else https://ec2.REGION.amazonaws.com (.com.cn for
 * cn-* regions).  CREDS is copied.  The caller frees *RET with
 * ec2_client_free.  Returns 0, -EINVAL or -ENOMEM.
 */
extern int ec2_client_new (const char *region, const char *endpoint,
                           const struct ec2_credentials *creds,
                           struct ec2_client **ret, struct v2v_error *err);

/* Zero the copied secrets and free C.  Accepts NULL. */
extern void ec2_client_free (struct ec2_client *c);

/* The endpoint requests go to; owned by C. */
extern const char *ec2_client_endpoint (const struct ec2_client *c);

#define EC2_RETRY_INITIAL_MS_DEFAULT  500
#define EC2_RETRY_CAP_MS_DEFAULT      20000
#define EC2_RETRY_DEADLINE_MS_DEFAULT 300000
#define EC2_TIMEOUT_MS_DEFAULT        30000

/* Tune the retries of each ec2_call: the first delay, the largest, and
 * the time after which the call gives up (0: never).  CLOCK (NULL: the
 * real one) is not copied; tests pass a fake one.  TIMEOUT_MS bounds each
 * HTTP exchange.
 */
extern void ec2_client_set_retry (struct ec2_client *c, int64_t initial_ms,
                                  int64_t cap_ms, int64_t deadline_ms,
                                  long timeout_ms,
                                  const struct backoff_clock *clock);

/* Call FN before each retry's wait, with the error being retried and
 * the delay, so that the caller can log it (this library never logs).
 */
extern void ec2_client_set_retry_hook (struct ec2_client *c,
                                       void (*fn) (const struct v2v_error *err,
                                                   int64_t delay_ms,
                                                   void *opaque),
                                       void *opaque);

/* Call ACTION with PARAMS, a NULL-terminated list of name, value pairs
 * such as { "InstanceId.1", "i-0abc", NULL }.  On success sets *RET_DOC
 * to the parsed response, which the caller frees with xmlFreeDoc.
 *
 * Returns 0 or, with "ACTION: ..." in ERR (EC2 errors as
 * "ACTION: Code: Message"):
 *  -ENOENT   *.NotFound
 *  -EACCES   AuthFailure, UnauthorizedOperation, SignatureDoesNotMatch...
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
 * For creates that take no ClientToken, such as CreateSnapshots.
 */
#define EC2_CALL_NOT_IDEMPOTENT 1u

/* ec2_call with FLAGS (EC2_CALL_*). */
extern int ec2_call_flags (struct ec2_client *c, const char *action,
                           const char *const *params, unsigned flags,
                           xmlDocPtr *ret_doc, struct v2v_error *err);

/* Name the account C's credentials belong to, such as "source account
 * (environment)": a call whose credentials EC2 refuses (-EACCES) then
 * says "LABEL: ACTION: Code: Message".  Copied.
 */
extern void ec2_client_set_label (struct ec2_client *c, const char *label);

/* EC2's error code from the last ec2_call or ec2_describe that failed
 * with one, such as "InvalidVolume.NotFound"; "" otherwise.  Owned by C,
 * valid until the next call.
 */
extern const char *ec2_client_last_error_code (const struct ec2_client *c);

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

/* The number of HTTP requests sent for ACTION, retries included, or for
 * all actions if ACTION is NULL.
 */
extern unsigned ec2_client_calls (const struct ec2_client *c,
                                  const char *action);

#endif /* V2V_ORCHESTRATOR_EC2_H */
