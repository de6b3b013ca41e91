/* Natives of org.libunet.Options: one set for the four kinds of options objects (predict,
 * segment, click, train; the `kind` constants of Options.java), dispatched through small
 * typed wrappers so every call goes through the right unet_<kind>_opts_* function. */
#include <stdio.h>
#include <stdlib.h>

#include "unet_jni.h"

enum { KIND_PREDICT, KIND_SEGMENT, KIND_CLICK, KIND_TRAIN, KIND_COUNT };

typedef struct opts_ops {
    int (*create)(void **out);
    void (*release)(void *opts);
    int (*set)(void *opts, const char *key, const char *value);
    int (*set_json)(void *opts, const char *json);
    int (*json)(void *opts, const char **json);
    int (*describe)(void *opts, const char **json);
} opts_ops;

#define OPTS_WRAPPERS(kind)                                                                    \
    static int kind##_create(void **out)                                                       \
    {                                                                                          \
        unet_##kind##_opts_t *o = NULL;                                                        \
        int status = unet_##kind##_opts_create(&o);                                            \
        *out = o;                                                                              \
        return status;                                                                         \
    }                                                                                          \
    static void kind##_release(void *o) { unet_##kind##_opts_free(o); }                        \
    static int kind##_set(void *o, const char *k, const char *v)                               \
    {                                                                                          \
        return unet_##kind##_opts_set(o, k, v);                                                \
    }                                                                                          \
    static int kind##_set_json(void *o, const char *j) { return unet_##kind##_opts_set_json(o, j); } \
    static int kind##_json(void *o, const char **j) { return unet_##kind##_opts_json(o, j); }  \
    static int kind##_describe(void *o, const char **j)                                        \
    {                                                                                          \
        return unet_##kind##_opts_describe(o, j);                                              \
    }

OPTS_WRAPPERS(predict)
OPTS_WRAPPERS(segment)
OPTS_WRAPPERS(click)
OPTS_WRAPPERS(train)

#define OPTS_OPS(kind)                                                                         \
    {kind##_create, kind##_release, kind##_set, kind##_set_json, kind##_json, kind##_describe}

static const opts_ops ops[KIND_COUNT] = {OPTS_OPS(predict), OPTS_OPS(segment), OPTS_OPS(click),
                                         OPTS_OPS(train)};

static const opts_ops *kind_ops(JNIEnv *env, jint kind)
{
    if (kind < 0 || kind >= KIND_COUNT) {
        jni_throw(env, "java/lang/IllegalArgumentException", "unknown options kind");
        return NULL;
    }
    return &ops[kind];
}

JNIEXPORT jlong JNICALL Java_org_libunet_Native_optsCreate(JNIEnv *env, jclass cls, jint kind)
{
    (void)cls;
    const opts_ops *o = kind_ops(env, kind);
    void *opts = NULL;
    if (!o || jni_fail(env, o->create(&opts)))
        return 0;
    return jni_handle(opts);
}

JNIEXPORT void JNICALL Java_org_libunet_Native_optsFree(JNIEnv *env, jclass cls, jint kind,
                                                        jlong opts)
{
    (void)cls;
    const opts_ops *o = kind_ops(env, kind);
    if (o)
        o->release(jni_ptr(opts));
}

JNIEXPORT void JNICALL Java_org_libunet_Native_optsSet(JNIEnv *env, jclass cls, jint kind,
                                                       jlong opts, jstring key, jstring value)
{
    (void)cls;
    const opts_ops *o = kind_ops(env, kind);
    char *k = o ? jni_utf8(env, key, "option key") : NULL;
    char *v = k ? jni_utf8(env, value, "option value") : NULL;
    if (v)
        jni_fail(env, o->set(jni_ptr(opts), k, v));
    free(k);
    free(v);
}

JNIEXPORT void JNICALL Java_org_libunet_Native_optsSetJson(JNIEnv *env, jclass cls, jint kind,
                                                           jlong opts, jstring json)
{
    (void)cls;
    const opts_ops *o = kind_ops(env, kind);
    char *j = o ? jni_utf8(env, json, "options JSON") : NULL;
    if (j)
        jni_fail(env, o->set_json(jni_ptr(opts), j));
    free(j);
}

JNIEXPORT jstring JNICALL Java_org_libunet_Native_optsJson(JNIEnv *env, jclass cls, jint kind,
                                                           jlong opts)
{
    (void)cls;
    const opts_ops *o = kind_ops(env, kind);
    const char *json = NULL;
    if (!o || jni_fail(env, o->json(jni_ptr(opts), &json)))
        return NULL;
    return jni_string(env, json);
}

JNIEXPORT jstring JNICALL Java_org_libunet_Native_optsDescribe(JNIEnv *env, jclass cls,
                                                               jint kind, jlong opts)
{
    (void)cls;
    const opts_ops *o = kind_ops(env, kind);
    const char *json = NULL;
    if (!o || jni_fail(env, o->describe(jni_ptr(opts), &json)))
        return NULL;
    return jni_string(env, json);
}

/* Cancel (or reset) is thread-safe in libunet; only predict and segment options have it. */
JNIEXPORT void JNICALL Java_org_libunet_Native_optsCancel(JNIEnv *env, jclass cls, jint kind,
                                                          jlong opts, jboolean cancel)
{
    (void)cls;
    int status;
    if (kind == KIND_PREDICT)
        status = cancel ? unet_predict_opts_cancel(jni_ptr(opts))
                        : unet_predict_opts_reset_cancel(jni_ptr(opts));
    else if (kind == KIND_SEGMENT)
        status = cancel ? unet_segment_opts_cancel(jni_ptr(opts))
                        : unet_segment_opts_reset_cancel(jni_ptr(opts));
    else {
        jni_throw(env, "java/lang/IllegalArgumentException", "these options cannot cancel");
        return;
    }
    jni_fail(env, status);
}

JNIEXPORT void JNICALL Java_org_libunet_Native_optsCopyPredict(JNIEnv *env, jclass cls,
                                                               jint kind, jlong opts,
                                                               jlong predict_opts)
{
    (void)cls;
    if (kind == KIND_SEGMENT)
        jni_fail(env, unet_segment_opts_set_predict_opts(jni_ptr(opts), jni_ptr(predict_opts)));
    else if (kind == KIND_CLICK)
        jni_fail(env, unet_click_opts_set_predict_opts(jni_ptr(opts), jni_ptr(predict_opts)));
    else
        jni_throw(env, "java/lang/IllegalArgumentException",
                  "only segment and click options take predict options");
}
