/*
 * The calls of the public options objects, written once. `prefix` is the object's name in
 * unet.h (unet_post_opts: type unet_post_opts_t, calls unet_post_opts_*) and `table` its key
 * table (core/opts_table.h); each call is one call of the table's work in core/opts_table.c,
 * which checks the arguments and words the messages.
 *
 *   UNET__OPTS_API(prefix, table)        prefix_create, _free, _set, _set_json, _json and
 *                                        _describe
 *   UNET__OPTS_SETTER(prefix, table, key, ctype, how)
 *                                        prefix_set_<key>(opts, ctype value): the key through
 *                                        unet__opts_api_set_<how> (i64, double, or bool: any
 *                                        non-zero value is true)
 *   UNET__OPTS_PROGRESS(prefix, table, fn_type)
 *                                        prefix_set_progress(opts, fn, user): the object's
 *                                        progress and progress_user fields
 *   UNET__OPTS_CANCEL(prefix)            prefix_cancel and _reset_cancel: the object's atomic
 *                                        cancel flag (thread-safe, no message)
 */
#ifndef UNET_API_OPTS_API_H
#define UNET_API_OPTS_API_H

#include "core/opts_table.h"
#include "unet.h"

#define UNET__OPTS_API(prefix, table)                                                          \
    UNET_API int prefix##_create(prefix##_t **out)                                             \
    {                                                                                          \
        return unet__opts_api_create(table, (void **)out);                                     \
    }                                                                                          \
    UNET_API void prefix##_free(prefix##_t *o)                                                 \
    {                                                                                          \
        unet__opts_api_free(table, o);                                                         \
    }                                                                                          \
    UNET_API int prefix##_set(prefix##_t *o, const char *key, const char *value)               \
    {                                                                                          \
        return unet__opts_api_set(table, o, key, value);                                       \
    }                                                                                          \
    UNET_API int prefix##_set_json(prefix##_t *o, const char *json_object)                     \
    {                                                                                          \
        return unet__opts_api_set_json(table, o, json_object);                                 \
    }                                                                                          \
    UNET_API int prefix##_json(const prefix##_t *o, const char **json)                         \
    {                                                                                          \
        return unet__opts_api_json(table, o, json);                                            \
    }                                                                                          \
    UNET_API int prefix##_describe(const prefix##_t *o, const char **json)                     \
    {                                                                                          \
        return unet__opts_api_describe(table, o, json);                                        \
    }

#define UNET__OPTS_SETTER(prefix, table, key, ctype, how)                                      \
    UNET_API int prefix##_set_##key(prefix##_t *o, ctype value)                                \
    {                                                                                          \
        return unet__opts_api_set_##how(table, o, #key, value);                                \
    }

#define UNET__OPTS_PROGRESS(prefix, table, fn_type)                                            \
    UNET_API int prefix##_set_progress(prefix##_t *o, fn_type fn, void *user)                  \
    {                                                                                          \
        int rc = unet__opts_api_check(table, o);                                               \
        if (rc == UNET_OK) {                                                                   \
            o->progress = fn;                                                                  \
            o->progress_user = user;                                                           \
        }                                                                                      \
        return rc;                                                                             \
    }

#define UNET__OPTS_CANCEL(prefix)                                                              \
    UNET_API int prefix##_cancel(prefix##_t *o)                                                \
    {                                                                                          \
        return unet__opts_api_flag(o ? &o->cancel : NULL, 1);                                  \
    }                                                                                          \
    UNET_API int prefix##_reset_cancel(prefix##_t *o)                                          \
    {                                                                                          \
        return unet__opts_api_flag(o ? &o->cancel : NULL, 0);                                  \
    }

#endif
