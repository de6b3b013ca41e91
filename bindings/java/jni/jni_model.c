/* Natives of org.libunet.Model: loading, properties, and the calls that run the network
 * (predict, segment, forward). Inputs are copied out of Java arrays and results copied back
 * with Get/Set<Type>ArrayRegion, so no array is pinned while libunet runs or calls back. */
#include <stdlib.h>

#include "unet_jni.h"

static jlong model_result(JNIEnv *env, int status, unet_model_t *m)
{
    if (jni_fail(env, status))
        return 0;
    return jni_handle(m);
}

JNIEXPORT jlong JNICALL Java_org_libunet_Native_modelLoad(JNIEnv *env, jclass cls, jstring path)
{
    (void)cls;
    char *p = jni_utf8(env, path, "path");
    if (!p)
        return 0;
    unet_model_t *m = NULL;
    int status = unet_model_load(p, &m);
    free(p);
    return model_result(env, status, m);
}

JNIEXPORT jlong JNICALL Java_org_libunet_Native_modelBuiltin(JNIEnv *env, jclass cls,
                                                             jstring name)
{
    (void)cls;
    char *n = jni_utf8(env, name, "model name");
    if (!n)
        return 0;
    unet_model_t *m = NULL;
    int status = unet_model_load_builtin(n, &m);
    free(n);
    return model_result(env, status, m);
}

JNIEXPORT jlong JNICALL Java_org_libunet_Native_modelCreate(JNIEnv *env, jclass cls,
                                                            jstring config, jlong seed)
{
    (void)cls;
    char *c = jni_utf8(env, config, "config");
    if (!c)
        return 0;
    unet_model_t *m = NULL;
    int status = unet_model_create(c, (uint64_t)seed, &m);
    free(c);
    return model_result(env, status, m);
}

JNIEXPORT void JNICALL Java_org_libunet_Native_modelSave(JNIEnv *env, jclass cls, jlong model,
                                                         jstring path)
{
    (void)cls;
    char *p = jni_utf8(env, path, "path");
    if (p)
        jni_fail(env, unet_model_save(jni_ptr(model), p));
    free(p);
}

JNIEXPORT void JNICALL Java_org_libunet_Native_modelFree(JNIEnv *env, jclass cls, jlong model)
{
    (void)env;
    (void)cls;
    unet_model_free(jni_ptr(model));
}

JNIEXPORT jint JNICALL Java_org_libunet_Native_modelInt(JNIEnv *env, jclass cls, jlong model,
                                                        jint which)
{
    (void)cls;
    const unet_model_t *m = jni_ptr(model);
    int value = 0, status;
    switch (which) {
    case org_libunet_Native_NDIM:
        status = unet_model_ndim(m, &value);
        break;
    case org_libunet_Native_IN_CHANNELS:
        status = unet_model_in_channels(m, &value);
        break;
    case org_libunet_Native_OUT_CHANNELS:
        status = unet_model_out_channels(m, &value);
        break;
    case org_libunet_Native_DEPTH:
        status = unet_model_depth(m, &value);
        break;
    case org_libunet_Native_HALO:
        status = unet_model_halo(m, &value);
        break;
    case org_libunet_Native_BLOCK_MULTIPLE:
        status = unet_model_block_multiple(m, &value);
        break;
    default:
        jni_throw(env, "java/lang/IllegalArgumentException", "unknown model property");
        return 0;
    }
    jni_fail(env, status);
    return value;
}

JNIEXPORT jlong JNICALL Java_org_libunet_Native_modelParamCount(JNIEnv *env, jclass cls,
                                                                jlong model)
{
    (void)cls;
    int64_t count = 0;
    jni_fail(env, unet_model_param_count(jni_ptr(model), &count));
    return count;
}

JNIEXPORT jstring JNICALL Java_org_libunet_Native_modelJson(JNIEnv *env, jclass cls, jlong model,
                                                            jboolean metadata)
{
    (void)cls;
    const char *json = NULL;
    int status = metadata ? unet_model_metadata(jni_ptr(model), &json)
                          : unet_model_architecture(jni_ptr(model), &json);
    if (jni_fail(env, status))
        return NULL;
    return jni_string(env, json);
}

JNIEXPORT jlongArray JNICALL Java_org_libunet_Native_modelOutputShape(JNIEnv *env, jclass cls,
                                                                      jlong model,
                                                                      jlongArray shape)
{
    (void)cls;
    int64_t in[4], out[4];
    int ndim;
    size_t count;
    if (!jni_shape(env, shape, in, &ndim, &count, "input") ||
        jni_fail(env, unet_model_output_shape(jni_ptr(model), ndim, in, out)))
        return NULL;
    jlongArray result = (*env)->NewLongArray(env, ndim);
    if (result)
        (*env)->SetLongArrayRegion(env, result, 0, ndim, (const jlong *)out);
    return result;
}

/* Output buffer of a Java float[]'s length; NULL with an OutOfMemoryError pending. */
static float *output_buffer(JNIEnv *env, jarray output, size_t size, size_t *count)
{
    *count = (size_t)(*env)->GetArrayLength(env, output);
    void *p = malloc(*count ? *count * size : 1);
    if (!p)
        jni_throw(env, "java/lang/OutOfMemoryError", "libunet: the output buffer");
    return p;
}

JNIEXPORT void JNICALL Java_org_libunet_Native_predict(JNIEnv *env, jclass cls, jlong model,
                                                       jlong opts, jobject input, jint dtype,
                                                       jlongArray shape, jfloatArray output,
                                                       jobject listener)
{
    (void)cls;
    int64_t s[4];
    int ndim;
    size_t count, out_count;
    if (!jni_shape(env, shape, s, &ndim, &count, "image"))
        return;
    void *in = jni_copy_in(env, input, dtype, count, "image");
    float *out = in ? output_buffer(env, output, sizeof(float), &out_count) : NULL;
    unet_predict_opts_t *o = jni_ptr(opts), *own = NULL;
    int status = out ? UNET_OK : UNET_E_NOMEM;
    jni_progress progress = {env, listener};
    if (out && listener && !o && !jni_fail(env, status = unet_predict_opts_create(&own)))
        o = own;
    if (out && status == UNET_OK && listener)
        status = unet_predict_opts_set_progress(o, jni_progress_cb, &progress);
    if (out && status == UNET_OK)
        status = unet_predict(jni_ptr(model), o, in, (unet_dtype_t)dtype, ndim, s, out, out_count);
    /* The exception first: any later libunet call replaces the thread's error message. */
    int failed = out ? jni_fail(env, status) : 1;
    if (out && listener)
        unet_predict_opts_set_progress(o, NULL, NULL); /* `progress` dies with this frame */
    if (!failed)
        (*env)->SetFloatArrayRegion(env, output, 0, (jsize)out_count, out);
    unet_predict_opts_free(own);
    free(in);
    free(out);
}

JNIEXPORT jint JNICALL Java_org_libunet_Native_segment(JNIEnv *env, jclass cls, jlong model,
                                                       jlong opts, jobject input, jint dtype,
                                                       jlongArray shape, jintArray labels,
                                                       jobject listener)
{
    (void)cls;
    int64_t s[4];
    int ndim;
    size_t count, label_count;
    uint32_t objects = 0;
    if (!jni_shape(env, shape, s, &ndim, &count, "image"))
        return 0;
    void *in = jni_copy_in(env, input, dtype, count, "image");
    uint32_t *out = in ? (uint32_t *)output_buffer(env, labels, sizeof(uint32_t), &label_count)
                       : NULL;
    unet_segment_opts_t *o = jni_ptr(opts), *own = NULL;
    int status = out ? UNET_OK : UNET_E_NOMEM;
    jni_progress progress = {env, listener};
    if (out && listener && !o && !jni_fail(env, status = unet_segment_opts_create(&own)))
        o = own;
    if (out && status == UNET_OK && listener)
        status = unet_segment_opts_set_progress(o, jni_progress_cb, &progress);
    if (out && status == UNET_OK)
        status = unet_segment(jni_ptr(model), o, in, (unet_dtype_t)dtype, ndim, s, out,
                              label_count, &objects);
    int failed = out ? jni_fail(env, status) : 1; /* before any other libunet call */
    if (out && listener)
        unet_segment_opts_set_progress(o, NULL, NULL);
    if (!failed)
        (*env)->SetIntArrayRegion(env, labels, 0, (jsize)label_count, (const jint *)out);
    unet_segment_opts_free(own);
    free(in);
    free(out);
    return (jint)objects;
}

JNIEXPORT void JNICALL Java_org_libunet_Native_forward(JNIEnv *env, jclass cls, jlong model,
                                                       jlong opts, jfloatArray input,
                                                       jlongArray shape, jfloatArray output)
{
    (void)cls;
    int64_t s[4];
    int ndim;
    size_t count, out_count;
    if (!jni_shape(env, shape, s, &ndim, &count, "input"))
        return;
    float *in = jni_copy_in(env, input, UNET_F32, count, "input");
    float *out = in ? output_buffer(env, output, sizeof(float), &out_count) : NULL;
    if (out && !jni_fail(env, unet_model_forward(jni_ptr(model), jni_ptr(opts), in, ndim, s, out,
                                                 out_count)))
        (*env)->SetFloatArrayRegion(env, output, 0, (jsize)out_count, out);
    free(in);
    free(out);
}
