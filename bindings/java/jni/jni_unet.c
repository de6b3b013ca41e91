/* Natives of org.libunet.Unet: version, status strings, built-in model names, sample
 * images. */
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
