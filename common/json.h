/* Small json-c helpers for the report, the Kubernetes client and the
 * EC2 and plan parsers: bounded parsing with an error that says where,
 * and typed getters that walk a dotted path.
 *
 * json-c's directory, /usr/include/json-c, holds a json.h too; CMake
 * passes it as -isystem, which is searched after common/, so "json.h"
 * finds this file in any target that links v2vcommon.
 */
#ifndef V2V_COMMON_JSON_H
#define V2V_COMMON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "error.h"

DEFINE_CLEANUP_FUNC (struct json_object *, json_object_put)
#define CLEANUP_JSON __attribute__ ((cleanup (json_object_put_cleanup)))

/* Levels allowed when json_parse is given MAX_DEPTH 0.  Kubernetes
 * objects and EC2 descriptions nest about ten deep.
 */
#define JSON_MAX_DEPTH_DEFAULT 64

/* Parse LEN bytes at DATA as exactly one JSON value (RFC 8259: strict,
 * valid UTF-8, nothing but whitespace after it), nested at most MAX_DEPTH
 * levels (0 for JSON_MAX_DEPTH_DEFAULT).  Levels are counted as json-c
 * does, every value being one: "1" is one level, {"a":[1]} three.
 *
 * Returns 0 and sets *RET, which the caller releases with json_object_put
 * (or CLEANUP_JSON); a JSON "null" document gives *RET == NULL.
 * Returns -EINVAL for bad input, with "json_parse: byte N: reason" in ERR,
 * or -E2BIG if LEN is more than json-c can take (INT32_MAX).
 */
extern int json_parse (const void *data, size_t len, int max_depth,
                       struct json_object **ret, struct v2v_error *err);

/* Typed getters.  PATH is a list of object keys joined by '.', such as
 * "metadata.name", walked from OBJ; a key holding a '.' (annotations like
 * "kubevirt.io/x") cannot be named this way, so get the parent object and
 * use json_object_object_get_ex on it.
 *
 * Return 0 and set *RET; -ENOENT if a key is missing or the value (or OBJ)
 * is JSON null; -EINVAL if a step is not an object or the value has the
 * wrong type (an int64 getter also rejects doubles and values out of
 * range).  ERR may be NULL, useful when a missing key is not an error;
 * messages start with "PATH: ".
 *
 * Strings and objects are borrowed from OBJ: valid while OBJ is alive,
 * not to be freed (take a reference with json_object_get to keep one).
 */
extern int json_get_string (struct json_object *obj, const char *path,
                            const char **ret, struct v2v_error *err);
extern int json_get_int64 (struct json_object *obj, const char *path,
                           int64_t *ret, struct v2v_error *err);
extern int json_get_bool (struct json_object *obj, const char *path,
                          bool *ret, struct v2v_error *err);
extern int json_get_object (struct json_object *obj, const char *path,
                            struct json_object **ret, struct v2v_error *err);
extern int json_get_array (struct json_object *obj, const char *path,
                           struct json_object **ret, struct v2v_error *err);

#endif /* V2V_COMMON_JSON_H */
