/* Natives of org.libunet.Unet: version, status strings, built-in model names, sample
 * images, the channel rule. */
#include <stdio.h>
#include <stdlib.h>

#include "unet_jni.h"

JNIEXPORT jstring JNICALL Java_org_libunet_Native_version(JNIEnv *env, jclass cls)
{
    (void)cls;
    return jni_string(env, unet_version_string());
}

JNIEXPORT jstring JNICALL Java_org_libunet_Native_statusString(JNIEnv *env, jclass cls,
                                                               jint code)
{
    (void)cls;
    return jni_string(env, unet_status_string(code));
}

JNIEXPORT jobjectArray JNICALL Java_org_libunet_Native_builtinNames(JNIEnv *env, jclass cls)
{
    (void)cls;
    const char *const *names;
    size_t count;
    if (jni_fail(env, unet_model_builtin_names(&names, &count)))
        return NULL;
    jobjectArray out = (*env)->NewObjectArray(env, (jsize)count, jni.string, NULL);
    for (size_t i = 0; out && i < count; i++) {
        jstring s = jni_string(env, names[i]);
        if (!s)
            return NULL;
        (*env)->SetObjectArrayElement(env, out, (jsize)i, s);
        (*env)->DeleteLocalRef(env, s);
    }
    return out;
}

JNIEXPORT jint JNICALL Java_org_libunet_Native_sampleNuclei(JNIEnv *env, jclass cls, jlong seed,
                                                            jint bits, jint height, jint width,
                                                            jshortArray image, jintArray labels)
{
    (void)cls;
    size_t n = (size_t)height * (size_t)width;
    unet_sample_opts_t *opts = NULL;
    uint16_t *img = malloc(n * sizeof *img);
    uint32_t *lab = labels ? malloc(n * sizeof *lab) : NULL;
    uint32_t count = 0;
    char value[32];
    snprintf(value, sizeof value, "%d", (int)bits);
    if (!img || (labels && !lab)) {
        jni_throw(env, "java/lang/OutOfMemoryError", "libunet: a sample image");
    } else if (!jni_fail(env, unet_sample_opts_create(&opts)) &&
               !jni_fail(env, unet_sample_opts_set_seed(opts, (uint64_t)seed)) &&
               !jni_fail(env, unet_sample_opts_set(opts, "bits", value)) &&
               !jni_fail(env, unet_sample_nuclei(opts, height, width, img, lab, &count))) {
        (*env)->SetShortArrayRegion(env, image, 0, (jsize)n, (const jshort *)img);
        if (labels)
            (*env)->SetIntArrayRegion(env, labels, 0, (jsize)n, (const jint *)lab);
    }
    unet_sample_opts_free(opts);
    free(img);
    free(lab);
    return (jint)count;
}

JNIEXPORT void JNICALL Java_org_libunet_Native_channelRule(JNIEnv *env, jclass cls,
                                                           jint model_channels, jlong channel,
                                                           jobject image, jint dtype,
                                                           jlongArray shape, jfloatArray output)
{
    (void)cls;
    int64_t s[4];
    int ndim;
    size_t count;
    if (!jni_shape(env, shape, s, &ndim, &count, "image"))
        return;
    void *in = jni_copy_in(env, image, dtype, count, "image");
    if (!in)
        return;
    size_t out_count = (size_t)(*env)->GetArrayLength(env, output);
    float *out = malloc(out_count ? out_count * sizeof *out : 1);
    if (!out)
        jni_throw(env, "java/lang/OutOfMemoryError", "libunet: the channel rule's output");
    else if (!jni_fail(env, unet_channel_rule(model_channels, channel, in, (unet_dtype_t)dtype,
                                              ndim, s, out, out_count)))
        (*env)->SetFloatArrayRegion(env, output, 0, (jsize)out_count, out);
    free(in);
    free(out);
}
