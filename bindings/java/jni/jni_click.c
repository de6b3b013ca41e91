/* Natives of org.libunet.ClickSession. A session keeps a pointer to its image, so the glue
 * owns a native copy of the Java array for the session's lifetime. */
#include <stdlib.h>

#include "unet_jni.h"

typedef struct jni_click {
    unet_click_session_t *session;
    void *image;
} jni_click;

JNIEXPORT jlong JNICALL Java_org_libunet_Native_clickCreate(JNIEnv *env, jclass cls, jlong model,
                                                            jlong opts, jobject image, jint dtype,
                                                            jlongArray shape)
{
    (void)cls;
    int64_t s[4];
    int ndim;
    size_t count;
    if (!jni_shape(env, shape, s, &ndim, &count, "image"))
        return 0;
    jni_click *c = calloc(1, sizeof *c);
    if (!c) {
        jni_throw(env, "java/lang/OutOfMemoryError", "libunet: a click session");
        return 0;
    }
    if (!(c->image = jni_copy_in(env, image, dtype, count, "image")) ||
        jni_fail(env, unet_click_session_create(jni_ptr(model), jni_ptr(opts), c->image,
                                                (unet_dtype_t)dtype, ndim, s, &c->session))) {
        free(c->image);
        free(c);
        return 0;
    }
    return jni_handle(c);
}

JNIEXPORT void JNICALL Java_org_libunet_Native_clickFree(JNIEnv *env, jclass cls, jlong session)
{
    (void)env;
    (void)cls;
    jni_click *c = jni_ptr(session);
    if (!c)
        return;
    unet_click_session_free(c->session);
    free(c->image);
    free(c);
}

JNIEXPORT void JNICALL Java_org_libunet_Native_clickSetOpts(JNIEnv *env, jclass cls,
                                                            jlong session, jlong opts)
{
    (void)cls;
    jni_click *c = jni_ptr(session);
    jni_fail(env, unet_click_session_set_opts(c->session, jni_ptr(opts)));
}

JNIEXPORT void JNICALL Java_org_libunet_Native_clickCancel(JNIEnv *env, jclass cls,
                                                           jlong session)
{
    (void)cls;
    jni_click *c = jni_ptr(session);
    jni_fail(env, unet_click_session_cancel(c->session));
}

JNIEXPORT void JNICALL Java_org_libunet_Native_clickResetCancel(JNIEnv *env, jclass cls,
                                                                jlong session)
{
    (void)cls;
    jni_click *c = jni_ptr(session);
    jni_fail(env, unet_click_session_reset_cancel(c->session));
}

JNIEXPORT jlongArray JNICALL Java_org_libunet_Native_clickStats(JNIEnv *env, jclass cls,
                                                                jlong session)
{
    (void)cls;
    jni_click *c = jni_ptr(session);
    int64_t v[3] = {0, 0, 0};
    if (jni_fail(env, unet_click_session_stats(c->session, &v[0], &v[1], &v[2])))
        return NULL;
    jlongArray out = (*env)->NewLongArray(env, 3);
    if (out)
        (*env)->SetLongArrayRegion(env, out, 0, 3, (const jlong *)v);
    return out;
}

/* The result's outline rings as int[][] of interleaved x, y corner coordinates. */
static jobjectArray rings_array(JNIEnv *env, const unet_click_result_t *r)
{
    int64_t count = 0;
    if (jni_fail(env, unet_click_result_ring_count(r, &count)))
        return NULL;
    jobjectArray rings = (*env)->NewObjectArray(env, (jsize)count, jni.int_array, NULL);
    for (int64_t i = 0; rings && i < count; i++) {
        const int64_t *xy;
        int64_t n;
        if (jni_fail(env, unet_click_result_ring(r, i, &xy, &n)))
            return NULL;
        if (n > (INT32_MAX - 8) / 2) {
            jni_throw(env, "java/lang/OutOfMemoryError", "libunet: an outline too long for Java");
            return NULL;
        }
        jint *v = malloc((size_t)(2 * n + 1) * sizeof *v);
        jintArray ring = v ? (*env)->NewIntArray(env, (jsize)(2 * n)) : NULL;
        if (!v || !ring) {
            free(v);
            jni_throw(env, "java/lang/OutOfMemoryError", "libunet: an outline");
            return NULL;
        }
        for (int64_t k = 0; k < 2 * n; k++)
            v[k] = (jint)xy[k]; /* coordinates of an image held in Java arrays fit in an int */
        (*env)->SetIntArrayRegion(env, ring, 0, (jsize)(2 * n), v);
        free(v);
        (*env)->SetObjectArrayElement(env, rings, (jsize)i, ring);
        (*env)->DeleteLocalRef(env, ring);
    }
    return rings;
}

static jobject result_object(JNIEnv *env, const unet_click_result_t *r)
{
    int64_t bbox[4], area;
    int complete;
    const uint8_t *mask;
    if (jni_fail(env, unet_click_result_bbox(r, bbox)) ||
        jni_fail(env, unet_click_result_area(r, &area)) ||
        jni_fail(env, unet_click_result_complete(r, &complete)) ||
        jni_fail(env, unet_click_result_mask(r, &mask)))
        return NULL;
    size_t n = area > 0 ? (size_t)bbox[2] * (size_t)bbox[3] : 0;
    if (n > INT32_MAX - 8) {
        jni_throw(env, "java/lang/OutOfMemoryError", "libunet: an object too large for Java");
        return NULL;
    }
    jbyteArray m = (*env)->NewByteArray(env, (jsize)n);
    if (!m)
        return NULL;
    if (n)
        (*env)->SetByteArrayRegion(env, m, 0, (jsize)n, (const jbyte *)mask);
    jobjectArray rings = rings_array(env, r);
    if (!rings)
        return NULL;
    return (*env)->NewObject(env, jni.click_result, jni.click_result_init, (jint)bbox[0],
                             (jint)bbox[1], (jint)bbox[2], (jint)bbox[3], (jlong)area,
                             complete ? JNI_TRUE : JNI_FALSE, m, rings);
}

JNIEXPORT jobject JNICALL Java_org_libunet_Native_click(JNIEnv *env, jclass cls, jlong session,
                                                        jlong x, jlong y, jlong plane)
{
    (void)cls;
    jni_click *c = jni_ptr(session);
    unet_click_result_t *r = NULL;
    if (jni_fail(env, unet_click(c->session, x, y, plane, &r)))
        return NULL;
    jobject result = result_object(env, r);
    unet_click_result_free(r);
    return result;
}
