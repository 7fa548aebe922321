/* A small Kubernetes API client for the agent and the orchestrator:
 * where the API server is, how to trust it and how to authenticate, and
 * one request at a time through common/http.h.
 *
 * Two sources of configuration, as client-go has them:
 *
 *   in-cluster   KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, and
 *                the service account's token, ca.crt and namespace files
 *                (/var/run/secrets/kubernetes.io/serviceaccount, or
 *                $V2V_SERVICEACCOUNT_DIR)
 *   kubeconfig   $KUBECONFIG (the first file of a ':' list): the current
 *                context's cluster server, certificate-authority(-data),
 *                insecure-skip-tls-verify, and the user's token or
 *                tokenFile; the context's namespace
 *
 * Bearer tokens are re-read from their file whenever the file changes,
 * because bound service-account tokens are rotated under a running pod.
 * No token ever appears in an error message or a log.
 *
 * TLS is always verified, against the configured CA.  A kubeconfig that
 * says insecure-skip-tls-verify is obeyed, and kube_config_insecure tells
 * the caller so that it can say so loudly.
 */
#ifndef V2V_K8S_KUBE_H
#define V2V_K8S_KUBE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "http.h"

struct kube_config;
struct json_object;

#define KUBE_SERVICEACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Load the configuration: $KUBECONFIG if set, else in-cluster.  Returns
 * 0, or -ENOENT when neither is available (running outside a cluster
 * with no kubeconfig: not an error for the agent, which then does not
 * report to the API), or another -errno with a message naming the file.
 */
extern int kube_config_load (struct kube_config **ret, struct v2v_error *err);
extern int kube_config_from_kubeconfig (const char *path,
                                        struct kube_config **ret,
                                        struct v2v_error *err);
extern int kube_config_in_cluster (const char *sa_dir,
                                   struct kube_config **ret,
                                   struct v2v_error *err);
extern void kube_config_free (struct kube_config *cfg);

/* "https://10.0.0.1:443", no trailing slash. */
extern const char *kube_config_server (const struct kube_config *cfg);
/* The default namespace, or NULL. */
extern const char *kube_config_namespace (const struct kube_config *cfg);
/* "in-cluster" or the kubeconfig's path. */
extern const char *kube_config_source (const struct kube_config *cfg);
extern bool kube_config_insecure (const struct kube_config *cfg);

/* One request to PATH ("/api/v1/namespaces/ns/pods/name", with any
 * query) on the configured server.  BODY, if not NULL, is sent with
 * CONTENT_TYPE.  TIMEOUT_MS 0 is http.h's default.  As http_perform:
 * any HTTP status is a success, and *RESP is the caller's to free.
 * Thread-safe: the token file is re-read under a lock.
 */
extern int kube_request (struct kube_config *cfg, const char *method,
                         const char *path, const char *content_type,
                         const char *body, long timeout_ms,
                         struct http_response *resp, struct v2v_error *err);

/* The "message" of a Kubernetes Status object in BODY, or BODY itself
 * cut to fit, into OUT.
 */
extern void kube_status_message (const char *body, char *out, size_t len);

/* Parse a YAML document (the first one in DATA) into JSON: mappings to
 * objects, sequences to arrays, plain true/false/null to those, plain
 * integers to numbers, everything else to strings.  Anchors and aliases
 * are refused.  Used for kubeconfig files; a JSON file is YAML too.
 */
extern int kube_yaml_to_json (const char *data, size_t len,
                              struct json_object **ret, struct v2v_error *err);

/* --- Objects (objects.c) ----------------------------------------------
 *
 * JSON objects by path, retried like the reporter does (429 after its
 * Retry-After, 408, 5xx, timeouts and broken connections, with capped
 * backoff and jitter, for at most KUBE_RETRY_DEADLINE_MS).  Other
 * statuses end the call: -ENOENT for 404, -EEXIST for 409 on create,
 * -EACCES for 401/403, -EINVAL for 400/422 (the Status message in ERR),
 * -EIO otherwise.
 */
#define KUBE_RETRY_DEADLINE_MS (120 * 1000)

/* GET PATH into *RET. */
extern int kube_get (struct kube_config *cfg, const char *path,
                     struct json_object **ret, struct v2v_error *err);
/* POST OBJ to the collection PATH.  -EEXIST if it is already there (the
 * caller decides whether that is fine).  *RET (may be NULL) is what the
 * server stored.
 */
extern int kube_create (struct kube_config *cfg, const char *path,
                        struct json_object *obj, struct json_object **ret,
                        struct v2v_error *err);
/* DELETE PATH with propagationPolicy Background; a 404 is success. */
extern int kube_delete (struct kube_config *cfg, const char *path,
                        struct v2v_error *err);
/* PATCH PATH with a JSON merge patch. */
extern int kube_merge_patch (struct kube_config *cfg, const char *path,
                             struct json_object *patch,
                             struct v2v_error *err);

/* A reusable key=value label selector, percent-encoded for a query. */
extern char *kube_label_selector (const char *const *kv);

#endif /* V2V_K8S_KUBE_H */
