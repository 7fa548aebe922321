/* Kubernetes client configuration and requests; see kube.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "kube.h"

#define KUBE_FILE_MAX (1024 * 1024)     /* kubeconfig, CA bundle */
#define KUBE_TOKEN_MAX (64 * 1024)

struct kube_config {
  char *server;
  char *ca_file;                /* a PEM bundle, or */
  char *ca_data;                /* PEM in memory */
  size_t ca_data_len;
  bool insecure;
  char *namespace;
  char *source;

  /* The token, static or from TOKEN_FILE; TOKEN_ST identifies the file
   * the cached token came from, so a rotated file is read again.
   */
  pthread_mutex_t lock;
  char *token;
  char *token_file;
  struct stat token_st;
};

/* Tokens are one line; a trailing newline is not part of them. */
static void
chomp (char *s)
{
  size_t n = strlen (s);

  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
    s[--n] = '\0';
}

static struct kube_config *
config_new (void)
{
  struct kube_config *cfg = calloc (1, sizeof *cfg);

  if (cfg)
    pthread_mutex_init (&cfg->lock, NULL);
  return cfg;
}

void
kube_config_free (struct kube_config *cfg)
{
  if (cfg == NULL)
    return;
  free (cfg->server);
  free (cfg->ca_file);
  if (cfg->token)
    explicit_bzero (cfg->token, strlen (cfg->token));
  free (cfg->token);
  free (cfg->token_file);
  free (cfg->ca_data);
  free (cfg->namespace);
  free (cfg->source);
  pthread_mutex_destroy (&cfg->lock);
  free (cfg);
}

/* Read the token file if it changed since the cached token was read.
 * Called with the lock held.  A file that cannot be read keeps the old
 * token: the request then fails with 401, which says more than an
 * error here would.
 */
static int
refresh_token (struct kube_config *cfg, struct v2v_error *err)
{
  struct stat st;
  char *tok = NULL;

  if (cfg->token_file == NULL)
    return 0;
  if (stat (cfg->token_file, &st) == -1) {
    if (cfg->token)
      return 0;
    return v2v_error_errno (err, -errno, "token file %s", cfg->token_file);
  }
  if (cfg->token && st.st_ino == cfg->token_st.st_ino &&
      st.st_dev == cfg->token_st.st_dev &&
      st.st_mtim.tv_sec == cfg->token_st.st_mtim.tv_sec &&
      st.st_mtim.tv_nsec == cfg->token_st.st_mtim.tv_nsec &&
      st.st_size == cfg->token_st.st_size)
    return 0;
  int r = read_file_bounded (cfg->token_file, KUBE_TOKEN_MAX, &tok, NULL,
                             err);
  if (r < 0)
    return cfg->token ? 0 : r;
  chomp (tok);
  if (cfg->token) {
    explicit_bzero (cfg->token, strlen (cfg->token));
    free (cfg->token);
  }
  cfg->token = tok;
  cfg->token_st = st;
  return 0;
}

int
kube_config_in_cluster (const char *sa_dir, struct kube_config **ret,
                        struct v2v_error *err)
{
  const char *host = getenv ("KUBERNETES_SERVICE_HOST");
  const char *port = getenv ("KUBERNETES_SERVICE_PORT");
  struct kube_config *cfg;
  CLEANUP_FREE char *ns = NULL;
  int r;

  if (host == NULL || *host == '\0' || port == NULL || *port == '\0')
    return v2v_error_set (err, -ENOENT, "not running in a cluster: "
                          "KUBERNETES_SERVICE_HOST and _PORT are not set");
  if (sa_dir == NULL)
    sa_dir = KUBE_SERVICEACCOUNT_DIR;
  if ((cfg = config_new ()) == NULL)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  /* An IPv6 service address needs brackets in a URL. */
  if (asprintf (&cfg->server, strchr (host, ':') ? "https://[%s]:%s"
                : "https://%s:%s", host, port) < 0 ||
      asprintf (&cfg->ca_file, "%s/ca.crt", sa_dir) < 0 ||
      asprintf (&cfg->token_file, "%s/token", sa_dir) < 0 ||
      (cfg->source = strdup ("in-cluster")) == NULL) {
    kube_config_free (cfg);
    return v2v_error_set (err, -ENOMEM, "out of memory");
  }
  if (access (cfg->ca_file, R_OK) == -1) {
    r = v2v_error_errno (err, -errno, "in-cluster: %s", cfg->ca_file);
    kube_config_free (cfg);
    return r;
  }
  if ((r = refresh_token (cfg, err)) < 0) {
    v2v_error_prefix (err, "in-cluster");
    kube_config_free (cfg);
    return r;
  }
  CLEANUP_FREE char *ns_path = NULL;
  if (asprintf (&ns_path, "%s/namespace", sa_dir) >= 0 &&
      read_file_bounded (ns_path, 256, &ns, NULL, NULL) == 0) {
    chomp (ns);
    cfg->namespace = TAKE_PTR (ns);
  }
  *ret = cfg;
  return 0;
}

/* The entry of LIST (an array of {"name": N, KEY: {...}}) named NAME. */
static struct json_object *
named_entry (struct json_object *root, const char *list, const char *name,
             const char *key)
{
  struct json_object *arr, *e, *v;

  if (name == NULL || !json_object_object_get_ex (root, list, &arr) ||
      !json_object_is_type (arr, json_type_array))
    return NULL;
  for (size_t i = 0; i < json_object_array_length (arr); i++) {
    e = json_object_array_get_idx (arr, i);
    if (json_object_object_get_ex (e, "name", &v) &&
        strcmp (json_object_get_string (v), name) == 0 &&
        json_object_object_get_ex (e, key, &v))
      return v;
  }
  return NULL;
}

static const char *
get_str (struct json_object *o, const char *key)
{
  struct json_object *v;

  if (o && json_object_object_get_ex (o, key, &v) &&
      json_object_is_type (v, json_type_string))
    return json_object_get_string (v);
  return NULL;
}

/* Relative paths in a kubeconfig are relative to the file's directory. */
static char *
resolve_path (const char *kubeconfig, const char *p)
{
  char *out;
  const char *slash = strrchr (kubeconfig, '/');

  if (p[0] == '/' || slash == NULL)
    return strdup (p);
  if (asprintf (&out, "%.*s/%s", (int) (slash - kubeconfig), kubeconfig, p) < 0)
    return NULL;
  return out;
}

int
kube_config_from_kubeconfig (const char *path, struct kube_config **ret,
                             struct v2v_error *err)
{
  CLEANUP_FREE char *text = NULL;
  CLEANUP_JSON struct json_object *root = NULL;
  struct json_object *cluster, *user, *context, *v;
  struct kube_config *cfg;
  const char *ctx_name, *s;
  size_t len;
  int r;

  if ((r = read_file_bounded (path, KUBE_FILE_MAX, &text, &len, err)) < 0)
    return r;
  if ((r = kube_yaml_to_json (text, len, &root, err)) < 0) {
    v2v_error_prefix (err, "kubeconfig %s", path);
    return r;
  }
  if (!json_object_is_type (root, json_type_object))
    return v2v_error_set (err, -EINVAL, "kubeconfig %s: not a mapping", path);

  ctx_name = get_str (root, "current-context");
  context = named_entry (root, "contexts", ctx_name, "context");
  if (context == NULL)
    return v2v_error_set (err, -EINVAL, "kubeconfig %s: current-context "
                          "'%s' is not among its contexts", path,
                          ctx_name ? ctx_name : "");
  cluster = named_entry (root, "clusters", get_str (context, "cluster"),
                         "cluster");
  user = named_entry (root, "users", get_str (context, "user"), "user");
  if (cluster == NULL || get_str (cluster, "server") == NULL)
    return v2v_error_set (err, -EINVAL, "kubeconfig %s: context '%s' names "
                          "no cluster with a server", path, ctx_name);
  if (user && (json_object_object_get_ex (user, "exec", NULL) ||
               json_object_object_get_ex (user, "auth-provider", NULL) ||
               (get_str (user, "client-certificate-data") &&
                !get_str (user, "token"))))
    return v2v_error_set (err, -ENOTSUP, "kubeconfig %s: user of context "
                          "'%s' authenticates with a client certificate or "
                          "an exec plugin; only bearer tokens (token, "
                          "tokenFile) are supported", path, ctx_name);

  if ((cfg = config_new ()) == NULL)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  cfg->server = strdup (get_str (cluster, "server"));
  cfg->source = strdup (path);
  if (cfg->server == NULL || cfg->source == NULL)
    goto nomem;
  len = strlen (cfg->server);
  while (len > 0 && cfg->server[len - 1] == '/')
    cfg->server[--len] = '\0';
  if ((s = get_str (context, "namespace")) &&
      (cfg->namespace = strdup (s)) == NULL)
    goto nomem;
  if (json_object_object_get_ex (cluster, "insecure-skip-tls-verify", &v))
    cfg->insecure = json_object_get_boolean (v);

  if ((s = get_str (cluster, "certificate-authority-data"))) {
    size_t n = strlen (s);
    cfg->ca_data = malloc (n / 4 * 3 + 4);
    if (cfg->ca_data == NULL)
      goto nomem;
    int dec = EVP_DecodeBlock ((unsigned char *) cfg->ca_data,
                               (const unsigned char *) s, (int) n);
    if (dec < 0 || n % 4 != 0) {
      kube_config_free (cfg);
      return v2v_error_set (err, -EINVAL, "kubeconfig %s: "
                            "certificate-authority-data is not base64", path);
    }
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    while (dec > 0 && n > 0 && s[--n] == '=')
      dec--;
    cfg->ca_data_len = dec;
  }
  else if ((s = get_str (cluster, "certificate-authority")) &&
           (cfg->ca_file = resolve_path (path, s)) == NULL)
    goto nomem;

  if ((s = get_str (user, "token")) && (cfg->token = strdup (s)) == NULL)
    goto nomem;
  else if ((s = get_str (user, "tokenFile"))) {
    if ((cfg->token_file = resolve_path (path, s)) == NULL)
      goto nomem;
    if ((r = refresh_token (cfg, err)) < 0) {
      v2v_error_prefix (err, "kubeconfig %s", path);
      kube_config_free (cfg);
      return r;
    }
  }
  *ret = cfg;
  return 0;

nomem:
  kube_config_free (cfg);
  return v2v_error_set (err, -ENOMEM, "out of memory");
}

int
kube_config_load (struct kube_config **ret, struct v2v_error *err)
{
  const char *kc = getenv ("KUBECONFIG");

  if (kc && *kc) {
    /* Like kubectl, a list of files; this client reads the first. */
    CLEANUP_FREE char *first = strndup (kc, strcspn (kc, ":"));
    if (first == NULL)
      return v2v_error_set (err, -ENOMEM, "out of memory");
    return kube_config_from_kubeconfig (first, ret, err);
  }
  return kube_config_in_cluster (getenv ("V2V_SERVICEACCOUNT_DIR"), ret, err);
}

const char *
kube_config_server (const struct kube_config *cfg)
{
  return cfg->server;
}

const char *
kube_config_namespace (const struct kube_config *cfg)
{
  return cfg->namespace;
}

const char *
kube_config_source (const struct kube_config *cfg)
{
  return cfg->source;
}

bool
kube_config_insecure (const struct kube_config *cfg)
{
  return cfg->insecure;
}

int
kube_request (struct kube_config *cfg, const char *method, const char *path,
              const char *content_type, const char *body, long timeout_ms,
              struct http_response *resp, struct v2v_error *err)
{
  CLEANUP_FREE char *url = NULL, *ct = NULL, *token = NULL;
  const char *headers[3] = { "Accept: application/json", NULL, NULL };
  int r;

  if (asprintf (&url, "%s%s", cfg->server, path) < 0)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  if (body) {
    if (asprintf (&ct, "Content-Type: %s",
                  content_type ? content_type : "application/json") < 0)
      return v2v_error_set (err, -ENOMEM, "out of memory");
    headers[1] = ct;
  }

  /* A copy of the token, so that the lock is not held over the request. */
  pthread_mutex_lock (&cfg->lock);
  r = refresh_token (cfg, err);
  if (r == 0 && cfg->token && (token = strdup (cfg->token)) == NULL)
    r = v2v_error_set (err, -ENOMEM, "out of memory");
  pthread_mutex_unlock (&cfg->lock);
  if (r < 0)
    return r;

  struct http_request req = {
    .method = method,
    .url = url,
    .headers = headers,
    .body = body,
    .body_len = body ? strlen (body) : 0,
    .timeout_ms = timeout_ms,
    .ca_file = cfg->ca_file,
    .ca_blob = cfg->ca_data,
    .ca_blob_len = cfg->ca_data_len,
    .bearer_token = token,
    .insecure = cfg->insecure,
  };
  r = http_perform (&req, resp, err);
  if (token)
    explicit_bzero (token, strlen (token));
  return r;
}

void
kube_status_message (const char *body, char *out, size_t len)
{
  CLEANUP_JSON struct json_object *o = NULL;
  const char *msg = NULL;

  if (body && *body &&
      json_parse (body, strlen (body), 0, &o, NULL) == 0 && o)
    json_get_string (o, "message", &msg, NULL);
  if (msg == NULL)
    msg = body && *body ? body : "(no body)";
  snprintf (out, len, "%s", msg);
  /* One line: a multi-line body would break JSON-free text logs. */
  for (char *p = out; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
}
