/* Natives of org.libunet.Trainer. A trainer copies its options, progress callback and user
 * pointer included, when it is created, so the callback's context lives as long as the
 * trainer: the glue's jni_trainer, whose JNIEnv is set for each run on the calling thread. */
#include <stdlib.h>

#include "unet_jni.h"

typedef struct jni_trainer {
    unet_trainer_t *trainer;
    JNIEnv *env;      /* the running call's thread; NULL outside a run */
    jobject listener; /* global reference, or NULL */
} jni_trainer;

static int train_progress(void *user, int64_t step, int64_t total, double loss, double metric)
{
    jni_trainer *t = user;
    JNIEnv *env = t->env;
    if (!env || !t->listener)
        return 0;
    if ((*env)->ExceptionCheck(env))
        return 1;
    (*env)->CallVoidMethod(env, t->listener, jni.train_step, (jlong)step, (jlong)total,
                           (jdouble)loss, (jdouble)metric);
    return (*env)->ExceptionCheck(env) ? 1 : 0;
}

static void trainer_release(JNIEnv *env, jni_trainer *t)
{
    if (!t)
        return;
    unet_trainer_free(t->trainer);
    if (t->listener)
        (*env)->DeleteGlobalRef(env, t->listener);
    free(t);
}

JNIEXPORT jlong JNICALL Java_org_libunet_Native_trainerCreate(JNIEnv *env, jclass cls,
                                                              jlong model, jlong opts,
                                                              jobject listener)
{
    (void)cls;
    jni_trainer *t = calloc(1, sizeof *t);
    if (!t) {
        jni_throw(env, "java/lang/OutOfMemoryError", "libunet: a trainer");
        return 0;
    }
    if (listener && !(t->listener = (*env)->NewGlobalRef(env, listener))) {
        free(t);
        return 0;
    }
    unet_train_opts_t *o = jni_ptr(opts), *own = NULL;
    int status = UNET_OK;
    if (!o && !jni_fail(env, status = unet_train_opts_create(&own)))
        o = own;
    if (status == UNET_OK && !jni_fail(env, status = unet_train_opts_set_progress(
                                                o, train_progress, t))) {
        status = unet_trainer_create(jni_ptr(model), o, &t->trainer);
        jni_fail(env, status); /* before the next libunet call replaces the message */
        unet_train_opts_set_progress(o, NULL, NULL); /* the caller's options keep no pointer */
    }
    unet_train_opts_free(own);
    if (status != UNET_OK) {
        trainer_release(env, t);
        return 0;
    }
    return jni_handle(t);
}

JNIEXPORT void JNICALL Java_org_libunet_Native_trainerFree(JNIEnv *env, jclass cls, jlong trainer)
{
    (void)cls;
    trainer_release(env, jni_ptr(trainer));
}

JNIEXPORT void JNICALL Java_org_libunet_Native_trainerAddData(JNIEnv *env, jclass cls,
                                                              jlong trainer, jobject image,
                                                              jint dtype, jlongArray shape,
                                                              jobject labels, jint label_dtype,
                                                              jlongArray label_shape, jint split)
{
    (void)cls;
    jni_trainer *t = jni_ptr(trainer);
    int64_t s[4], ls[4];
    int ndim, lndim;
    size_t count, lcount;
    if (!jni_shape(env, shape, s, &ndim, &count, "image") ||
        !jni_shape(env, label_shape, ls, &lndim, &lcount, "labels"))
        return;
    void *img = jni_copy_in(env, image, dtype, count, "image");
    void *lab = img ? jni_copy_in(env, labels, label_dtype, lcount, "labels") : NULL;
    if (lab)
        jni_fail(env, unet_trainer_add_data(t->trainer, img, (unet_dtype_t)dtype, ndim, s, lab,
                                            (unet_dtype_t)label_dtype, lndim, ls,
                                            (unet_split_t)split));
    free(img);
    free(lab);
}

JNIEXPORT void JNICALL Java_org_libunet_Native_trainerRun(JNIEnv *env, jclass cls, jlong trainer,
                                                          jlong steps)
{
    (void)cls;
    jni_trainer *t = jni_ptr(trainer);
    t->env = env;
    int status = steps < 0 ? unet_trainer_train(t->trainer) : unet_trainer_step(t->trainer, steps);
    t->env = NULL;
    jni_fail(env, status);
}

JNIEXPORT jdoubleArray JNICALL Java_org_libunet_Native_trainerEvaluate(JNIEnv *env, jclass cls,
                                                                       jlong trainer)
{
    (void)cls;
    jni_trainer *t = jni_ptr(trainer);
    double v[2];
    if (jni_fail(env, unet_trainer_evaluate(t->trainer, &v[0], &v[1])))
        return NULL;
    jdoubleArray out = (*env)->NewDoubleArray(env, 2);
    if (out)
        (*env)->SetDoubleArrayRegion(env, out, 0, 2, v);
    return out;
}

JNIEXPORT jstring JNICALL Java_org_libunet_Native_trainerMetrics(JNIEnv *env, jclass cls,
                                                                 jlong trainer)
{
    (void)cls;
    jni_trainer *t = jni_ptr(trainer);
    const char *json = NULL;
    if (jni_fail(env, unet_trainer_metrics(t->trainer, &json)))
        return NULL;
    return jni_string(env, json);
}

JNIEXPORT jlongArray JNICALL Java_org_libunet_Native_trainerProgress(JNIEnv *env, jclass cls,
                                                                     jlong trainer)
{
    (void)cls;
    jni_trainer *t = jni_ptr(trainer);
    int64_t v[2];
    if (jni_fail(env, unet_trainer_progress(t->trainer, &v[0], &v[1])))
        return NULL;
    jlongArray out = (*env)->NewLongArray(env, 2);
    if (out)
        (*env)->SetLongArrayRegion(env, out, 0, 2, (const jlong *)v);
    return out;
}

JNIEXPORT void JNICALL Java_org_libunet_Native_trainerSave(JNIEnv *env, jclass cls, jlong trainer,
                                                           jstring path)
{
    (void)cls;
    jni_trainer *t = jni_ptr(trainer);
    char *p = jni_utf8(env, path, "path");
    if (p)
        jni_fail(env, unet_trainer_save(t->trainer, p));
    free(p);
}

JNIEXPORT void JNICALL Java_org_libunet_Native_trainerCancel(JNIEnv *env, jclass cls,
                                                             jlong trainer)
{
    (void)cls;
    jni_trainer *t = jni_ptr(trainer);
    jni_fail(env, unet_trainer_cancel(t->trainer));
}

JNIEXPORT void JNICALL Java_org_libunet_Native_trainerResetCancel(JNIEnv *env, jclass cls,
                                                                  jlong trainer)
{
    (void)cls;
    jni_trainer *t = jni_ptr(trainer);
    jni_fail(env, unet_trainer_reset_cancel(t->trainer));
}
