/* An EC2 Query API client (Version 2016-11-15): credentials, signed
 * requests with retries, error translation, and typed calls that return
 * structs (the XML and pagination stay inside the client).
 *
 * Files: ec2-creds.c (credentials), ec2-call.c (the client: requests,
 * retries, error mapping), ec2-xml.c (parsing, pagination), ec2-api.c
 * (the typed calls below); ec2-internal.h is the client's own header.
 * Requests are POSTs of form-encoded parameters, signed with AWS SigV4 by
 * libcurl (common/http.h).  Responses are parsed with libxml2, without
 * network access and refusing any DTD, so no entity is ever expanded.
 *
 * A client is not thread-safe: use one per thread.  Call
 * curl_global_init and ec2_global_init from main() before starting
 * threads.
 *
 * Retries: throttling, 5xx and transport errors are retried with
 * exponential backoff and full jitter until a deadline, so a request may
 * be sent more than once.  Pass a ClientToken to Create* and RunInstances
 * to make them idempotent.
 */
#ifndef V2V_ORCHESTRATOR_EC2_H
#define V2V_ORCHESTRATOR_EC2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Name the account C's credentials belong to, such as "source account
 * (environment)": a call whose credentials EC2 refuses (-EACCES) then
 * says "LABEL: ACTION: Code: Message".  Copied.
 */
extern void ec2_client_set_label (struct ec2_client *c, const char *label);

/* Ask listing Describe calls (those naming no ids, which EC2 cannot
 * page) for pages of at most N items (EC2's MaxResults, cut to what each
 * action takes: 1000, DescribeVolumes 500, DescribeInstanceTypes 100);
 * 0, the default, sends no MaxResults and EC2 answers everything at once.
 * Every page is still one call.
 */
extern void ec2_client_set_page_size (struct ec2_client *c, unsigned n);

/* EC2's error code from the last call that failed with one, such as "InvalidVolume.NotFound"; "" otherwise.  Owned by C,
 * valid until the next call.
 */
extern const char *ec2_client_last_error_code (const struct ec2_client *c);

/* The number of HTTP requests sent for ACTION, retries included, or for
 * all actions if ACTION is NULL.
 */
extern unsigned ec2_client_calls (const struct ec2_client *c,
                                  const char *action);

/* libxml2's global state, for main() to set up before any thread starts
 * and tear down at the end (the rest of the program never sees libxml2).
 */
extern void ec2_global_init (void);
extern void ec2_global_cleanup (void);

/* --- Typed calls (ec2-api.c) ----------------------------------------------
 *
 * Each returns 0 or a negative errno with ERR set, as ec2-internal.h's
 * ec2_call says (-ENOENT for *.NotFound, -EACCES for refused
 * credentials, -EBUSY for a resource in the wrong state...).  Lists are
 * arrays the caller frees with the matching *_free (which accept NULL);
 * tags are key, value, ..., NULL (a strv, common/strv.h).
 */

/* Filter.N.Name=NAME with Filter.N.Value.M for each of VALUES. */
struct ec2_filter {
  const char *name;                   /* "tag:Name", "instance-state-name" */
  const char *const *values;          /* NULL-terminated */
};

struct ec2_block_device {
  char device[32];                    /* /dev/xvda, /dev/sdf */
  char volume_id[32];
};

struct ec2_eni {
  char mac[32];
  char subnet[32];
  int device_index;
};

struct ec2_instance {
  char id[32];
  char image_id[32];                  /* the AMI it was launched from */
  char state[16];                     /* pending, running, stopped, ... */
  char type[32];
  char az[32];
  char boot_mode[24];                 /* legacy-bios, uefi, "" */
  char root_device[32];
  int core_count, threads_per_core;   /* CpuOptions; 0: not given */
  char **tags;                        /* key, value, ..., NULL, or NULL */
  char **security_groups;             /* sg-... ids, NULL-terminated */
  struct ec2_block_device *disks;     /* EBS volumes, as EC2 lists them */
  size_t nr_disks;
  struct ec2_eni *enis;               /* as EC2 lists them: any order */
  size_t nr_enis;
};

struct ec2_volume {
  char id[32];
  char state[16];                     /* creating, available, in-use, ... */
  char type[16];
  char az[32];
  char snapshot_id[32];
  int64_t size_gib, iops, throughput; /* 0: not set */
  bool encrypted;
  char kms_key[256];
  char **tags;
};

struct ec2_snapshot {
  char id[32];
  char volume_id[32];
  char state[16];                     /* pending, completed, error */
  char start_time[32];                /* ISO 8601: compares as a string */
  int progress;                       /* "45%": 45; -1 if not given */
  char **tags;
};

/* The most instance-store volumes an instance type has (d3en.12xlarge). */
#define EC2_MAX_STORE_DISKS 24

struct ec2_subnet {
  char id[32];
  char vpc[32];
  char az[32];
  char cidr[48];
  char state[16];
  int64_t available_ips;
  bool default_for_az;
  char **tags;
};

/* One source or destination of a security group rule. */
enum ec2_peer_kind { EC2_PEER_CIDR, EC2_PEER_CIDR6, EC2_PEER_GROUP,
                     EC2_PEER_PREFIX_LIST };
struct ec2_sg_peer {
  enum ec2_peer_kind kind;
  char value[64];                     /* CIDR, sg-..., pl-... */
};

/* An IpPermission. */
struct ec2_sg_rule {
  char protocol[16];                  /* tcp, udp, icmp, icmpv6, -1, "47" */
  bool has_ports;                     /* from_port, to_port given */
  int from_port, to_port;             /* ports, or ICMP type and code */
  struct ec2_sg_peer *peers;
  size_t nr_peers;
};

struct ec2_security_group {
  char id[32];
  char name[256];
  char vpc[32];
  char description[256];
  struct ec2_sg_rule *in, *out;       /* inbound, outbound rules */
  size_t nr_in, nr_out;
  char **tags;
};

struct ec2_instance_type {
  char name[32];
  int vcpus;
  int default_cores, default_threads_per_core; /* 0: not given */
  int64_t memory_mib;
  int64_t instance_store_gb;          /* 0: none */
  /* Each instance-store volume's size (instanceStorageInfo's disks,
   * each repeated its count times): ephemeral0, ephemeral1, ...
   */
  int64_t store_disk_gb[EC2_MAX_STORE_DISKS];
  size_t nr_store_disks;
};

/* An AMI's instance-store mappings: which device name each ephemeralN
 * was given (VirtualName ephemeralN, DeviceName /dev/sdb).
 */
struct ec2_image {
  char id[32];
  struct {
    char device[32];
    int ephemeral;                    /* N of ephemeralN */
  } ephemeral[EC2_MAX_STORE_DISKS];
  size_t nr_ephemeral;
};

/* DescribeInstances of IDS (NULL: any) matching FILTERS (NR_FILTERS of
 * them), every page.
 */
extern int ec2_describe_instances (struct ec2_client *c,
                                   const char *const *ids,
                                   const struct ec2_filter *filters,
                                   size_t nr_filters,
                                   struct ec2_instance **ret, size_t *ret_n,
                                   struct v2v_error *err);
extern void ec2_instances_free (struct ec2_instance *v, size_t n);

extern int ec2_describe_volumes (struct ec2_client *c, const char *const *ids,
                                 const struct ec2_filter *filters,
                                 size_t nr_filters,
                                 struct ec2_volume **ret, size_t *ret_n,
                                 struct v2v_error *err);
extern void ec2_volumes_free (struct ec2_volume *v, size_t n);

extern int ec2_describe_snapshots (struct ec2_client *c,
                                   const struct ec2_filter *filters,
                                   size_t nr_filters,
                                   struct ec2_snapshot **ret, size_t *ret_n,
                                   struct v2v_error *err);
extern void ec2_snapshots_free (struct ec2_snapshot *v, size_t n);

/* TYPES: NULL-terminated, or NULL (all, matching FILTERS).  Free *RET
 * with free().
 */
extern int ec2_describe_instance_types (struct ec2_client *c,
                                        const char *const *types,
                                        const struct ec2_filter *filters,
                                        size_t nr_filters,
                                        struct ec2_instance_type **ret,
                                        size_t *ret_n, struct v2v_error *err);

extern int ec2_describe_subnets (struct ec2_client *c, const char *const *ids,
                                 const struct ec2_filter *filters,
                                 size_t nr_filters,
                                 struct ec2_subnet **ret, size_t *ret_n,
                                 struct v2v_error *err);
extern void ec2_subnets_free (struct ec2_subnet *v, size_t n);

extern int ec2_describe_security_groups (struct ec2_client *c,
                                         const char *const *ids,
                                         const struct ec2_filter *filters,
                                         size_t nr_filters,
                                         struct ec2_security_group **ret,
                                         size_t *ret_n,
                                         struct v2v_error *err);
extern void ec2_security_groups_free (struct ec2_security_group *v, size_t n);
/* The group ID in V (N of them), or NULL. */
extern const struct ec2_security_group *
ec2_security_group_find (const struct ec2_security_group *v, size_t n,
                         const char *id);

/* GetInstanceUefiData: the instance's UEFI variable store, base64 as EC2
 * gives it, in *RET (NULL if it has none; the caller frees it).
 */
extern int ec2_get_uefi_data (struct ec2_client *c, const char *id,
                              char **ret, struct v2v_error *err);

/* The instance's user data, base64 as EC2 gives it, in *RET (NULL if it
 * has none; the caller frees it).
 */
/* DescribeImages of IDS (NULL-terminated), by the image-id filter: an
 * AMI deregistered since is not an error, it is just not listed.
 */
extern int ec2_describe_images (struct ec2_client *c, const char *const *ids,
                                struct ec2_image **ret, size_t *ret_n,
                                struct v2v_error *err);

extern int ec2_describe_user_data (struct ec2_client *c, const char *id,
                                   char **ret, struct v2v_error *err);

extern int ec2_stop_instance (struct ec2_client *c, const char *id,
                              struct v2v_error *err);
extern int ec2_start_instance (struct ec2_client *c, const char *id,
                               struct v2v_error *err);

struct ec2_snapshots_spec {
  const char *instance_id;
  bool exclude_boot;
  const char *const *exclude_volumes; /* NULL-terminated, or NULL */
  const char *const *tags;            /* key, value, ..., NULL */
  const char *description;
};

/* One crash-consistent CreateSnapshots, tagged at creation.  It takes no
 * ClientToken, so it is never sent again once EC2 may have acted: a 5xx
 * or a lost connection returns -EINPROGRESS (look for the snapshots by
 * their tags before calling again).  *RET lists the snapshots made.
 */
extern int ec2_create_snapshots (struct ec2_client *c,
                                 const struct ec2_snapshots_spec *spec,
                                 struct ec2_snapshot **ret, size_t *ret_n,
                                 struct v2v_error *err);

/* Let ACCOUNT create volumes from snapshot ID. */
extern int ec2_share_snapshot (struct ec2_client *c, const char *id,
                               const char *account, struct v2v_error *err);

extern int ec2_delete_snapshot (struct ec2_client *c, const char *id,
                                struct v2v_error *err);
extern int ec2_delete_volume (struct ec2_client *c, const char *id,
                              struct v2v_error *err);

struct ec2_volume_spec {
  const char *snapshot_id;
  const char *az;
  const char *type;
  int64_t size_gib, iops, throughput; /* 0: not sent */
  bool encrypted;
  const char *kms_key;                /* or NULL */
  const char *client_token;           /* makes a repeat the same volume */
  const char *const *tags;            /* key, value, ..., NULL; <= 50 */
};

/* CreateVolume; *RET is the new volume as EC2 answered (no tags). */
extern int ec2_create_volume (struct ec2_client *c,
                              const struct ec2_volume_spec *spec,
                              struct ec2_volume *ret, struct v2v_error *err);

/* The value of KEY in TAGS (key, value, ..., NULL), or NULL. */
extern const char *ec2_tag (char *const *tags, const char *key);

#endif /* V2V_ORCHESTRATOR_EC2_H */
