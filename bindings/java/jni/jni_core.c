/* JNI_OnLoad, exceptions, strings, array copies and the progress trampoline: what every
 * jni_*.c file uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unet_jni.h"

jni_cache jni;

static jclass global_class(JNIEnv *env, const char *name)
{
    jclass local = (*env)->FindClass(env, name);
    if (!local)
        return NULL;
    jclass global = (*env)->NewGlobalRef(env, local);
    (*env)->DeleteLocalRef(env, local);
    return global;
}

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved)
{
    (void)reserved;
    JNIEnv *env;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK)
        return JNI_ERR;
    /* FindClass here uses the class loader of org.libunet.Native, which loads this library. */
    if (!(jni.unet_exception = global_class(env, "org/libunet/UnetException")) ||
        !(jni.unet_exception_init = (*env)->GetMethodID(env, jni.unet_exception, "<init>",
                                                        "(ILjava/lang/String;)V")) ||
        !(jni.click_result = global_class(env, "org/libunet/ClickResult")) ||
        !(jni.click_result_init = (*env)->GetMethodID(env, jni.click_result, "<init>",
                                                      "(IIIIJZ[B[[I)V")) ||
        !(jni.string = global_class(env, "java/lang/String")) ||
        !(jni.int_array = global_class(env, "[I")))
        return JNI_ERR;
    jclass listener = (*env)->FindClass(env, "org/libunet/ProgressListener");
    if (!listener ||
        !(jni.progress = (*env)->GetMethodID(env, listener, "progress", "(DLjava/lang/String;)V")))
        return JNI_ERR;
    (*env)->DeleteLocalRef(env, listener);
    jclass train = (*env)->FindClass(env, "org/libunet/TrainListener");
    if (!train || !(jni.train_step = (*env)->GetMethodID(env, train, "step", "(JJDD)V")))
        return JNI_ERR;
    (*env)->DeleteLocalRef(env, train);
    static const char *const array_names[7] = {NULL, "[B", "[S", "[S", "[I", "[F", "[D"};
    for (int t = 1; t < 7; t++)
        if (!(jni.arrays[t] = global_class(env, array_names[t])))
            return JNI_ERR;
    return JNI_VERSION_1_8;
}

JNIEXPORT void JNICALL JNI_OnUnload(JavaVM *vm, void *reserved)
{
    (void)reserved;
    JNIEnv *env;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK)
        return;
    jclass *classes[] = {&jni.unet_exception, &jni.click_result, &jni.string, &jni.int_array,
                         &jni.arrays[1], &jni.arrays[2], &jni.arrays[3], &jni.arrays[4],
                         &jni.arrays[5], &jni.arrays[6]};
    for (size_t i = 0; i < sizeof classes / sizeof *classes; i++)
        if (*classes[i]) {
            (*env)->DeleteGlobalRef(env, *classes[i]);
            *classes[i] = NULL;
        }
}

void jni_throw(JNIEnv *env, const char *class_name, const char *message)
{
    if ((*env)->ExceptionCheck(env))
        return;
    jclass c = (*env)->FindClass(env, class_name);
    if (c) {
        (*env)->ThrowNew(env, c, message);
        (*env)->DeleteLocalRef(env, c);
    }
}

int jni_fail(JNIEnv *env, int status)
{
    if (status == UNET_OK)
        return 0;
    if ((*env)->ExceptionCheck(env))
        return 1; /* the listener's exception (or an OutOfMemoryError) is the one to see */
    const char *message = unet_last_error();
    if (!message || !*message)
        message = unet_status_string(status);
    jstring text = jni_string(env, message);
    if (!text)
        return 1;
    jobject e = (*env)->NewObject(env, jni.unet_exception, jni.unet_exception_init,
                                  (jint)status, text);
    (*env)->DeleteLocalRef(env, text);
    if (e) {
        (*env)->Throw(env, (jthrowable)e);
        (*env)->DeleteLocalRef(env, e);
    }
    return 1;
}

/* Decodes one UTF-8 sequence at s (n bytes left) into a code point; U+FFFD for an invalid
 * or overlong one. Returns the bytes consumed. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
    size_t len = s[0] < 0x80 ? 1 : (s[0] >> 5) == 6 ? 2 : (s[0] >> 4) == 14 ? 3
                 : (s[0] >> 3) == 30 ? 4 : 0;
    if (len == 0 || len > n) {
        *cp = 0xFFFD;
        return 1;
    }
    uint32_t c = len == 1 ? s[0] : (uint32_t)(s[0] & (0x7F >> len));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return i;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }
    *cp = (c < min[len - 1] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) ? 0xFFFD : c;
    return len;
}

jstring jni_string(JNIEnv *env, const char *utf8)
{
    if (!utf8)
        utf8 = "";
    size_t n = strlen(utf8);
    jchar *u = malloc((2 * n + 1) * sizeof *u);
    if (!u) {
        jni_throw(env, "java/lang/OutOfMemoryError", "libunet: a message string");
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += utf8_decode((const unsigned char *)utf8 + i, n - i, &cp);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            u[k++] = (jchar)(0xD800 + (cp >> 10));
            u[k++] = (jchar)(0xDC00 + (cp & 0x3FF));
        } else {
            u[k++] = (jchar)cp;
        }
    }
    jstring s = (*env)->NewString(env, u, (jsize)k);
    free(u);
    return s;
}

char *jni_utf8(JNIEnv *env, jstring s, const char *what)
{
    if (!s) {
        char message[160];
        snprintf(message, sizeof message, "%s must not be null", what);
        jni_throw(env, "java/lang/IllegalArgumentException", message);
        return NULL;
    }
    jsize n = (*env)->GetStringLength(env, s);
    jchar *u = malloc(((size_t)n + 1) * sizeof *u);
    char *out = malloc((size_t)n * 3 + 1);
    if (!u || !out) {
        free(u);
        free(out);
        jni_throw(env, "java/lang/OutOfMemoryError", "libunet: a string argument");
        return NULL;
    }
    (*env)->GetStringRegion(env, s, 0, n, u);
    size_t k = 0;
    for (jsize i = 0; i < n; i++) {
        uint32_t c = u[i];
        if (c == 0) {
            free(u);
            free(out);
            char message[160];
            snprintf(message, sizeof message, "%s contains a NUL character", what);
            jni_throw(env, "java/lang/IllegalArgumentException", message);
            return NULL;
        }
        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n && u[i + 1] >= 0xDC00 && u[i + 1] <= 0xDFFF)
            c = 0x10000 + ((c - 0xD800) << 10) + (u[++i] - 0xDC00);
        else if (c >= 0xD800 && c <= 0xDFFF)
            c = 0xFFFD; /* a lone surrogate */
        if (c < 0x80) {
            out[k++] = (char)c;
        } else if (c < 0x800) {
            out[k++] = (char)(0xC0 | (c >> 6));
            out[k++] = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out[k++] = (char)(0xE0 | (c >> 12));
            out[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[k++] = (char)(0x80 | (c & 0x3F));
        } else {
            out[k++] = (char)(0xF0 | (c >> 18));
            out[k++] = (char)(0x80 | ((c >> 12) & 0x3F));
            out[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[k++] = (char)(0x80 | (c & 0x3F));
        }
    }
    out[k] = '\0';
    free(u);
    return out;
}

int jni_shape(JNIEnv *env, jlongArray shape, int64_t out[4], int *ndim, size_t *count,
              const char *what)
{
    char message[200];
    jsize n = shape ? (*env)->GetArrayLength(env, shape) : 0;
    if (n < 1 || n > 4) {
        snprintf(message, sizeof message, "%s: a shape of 1 to 4 sizes is needed", what);
        jni_throw(env, "java/lang/IllegalArgumentException", message);
        return 0;
    }
    jlong s[4];
    (*env)->GetLongArrayRegion(env, shape, 0, n, s);
    size_t product = 1;
    for (jsize i = 0; i < n; i++) {
        if (s[i] <= 0 || (uint64_t)s[i] > SIZE_MAX / product) {
            snprintf(message, sizeof message, "%s: size %lld of axis %d is out of range", what,
                     (long long)s[i], (int)i);
            jni_throw(env, "java/lang/IllegalArgumentException", message);
            return 0;
        }
        product *= (size_t)s[i];
        out[i] = s[i];
    }
    *ndim = (int)n;
    *count = product;
    return 1;
}

void *jni_copy_in(JNIEnv *env, jobject array, int dtype, size_t count, const char *what)
{
    static const size_t size[7] = {0, 1, 2, 2, 4, 4, 8};
    char message[200];
    if (dtype < UNET_U8 || dtype > UNET_F64) {
        snprintf(message, sizeof message, "%s: unknown element type %d", what, dtype);
        jni_throw(env, "java/lang/IllegalArgumentException", message);
        return NULL;
    }
    if (!array || !(*env)->IsInstanceOf(env, array, jni.arrays[dtype]) ||
        (size_t)(*env)->GetArrayLength(env, (jarray)array) != count) {
        snprintf(message, sizeof message, "%s: expected a Java array of %zu elements for "
                 "element type %d", what, count, dtype);
        jni_throw(env, "java/lang/IllegalArgumentException", message);
        return NULL;
    }
    void *buffer = malloc(count * size[dtype]);
    if (!buffer) {
        snprintf(message, sizeof message, "libunet: %s (%zu elements)", what, count);
        jni_throw(env, "java/lang/OutOfMemoryError", message);
        return NULL;
    }
    jsize n = (jsize)count;
    switch (dtype) {
    case UNET_U8:
        (*env)->GetByteArrayRegion(env, (jbyteArray)array, 0, n, buffer);
        break;
    case UNET_U16:
    case UNET_I16:
        (*env)->GetShortArrayRegion(env, (jshortArray)array, 0, n, buffer);
        break;
    case UNET_U32:
        (*env)->GetIntArrayRegion(env, (jintArray)array, 0, n, buffer);
        break;
    case UNET_F32:
        (*env)->GetFloatArrayRegion(env, (jfloatArray)array, 0, n, buffer);
        break;
    default:
        (*env)->GetDoubleArrayRegion(env, (jdoubleArray)array, 0, n, buffer);
        break;
    }
    return buffer;
}

int jni_progress_cb(void *user, double fraction, const char *stage)
{
    jni_progress *p = user;
    JNIEnv *env = p->env;
    if ((*env)->ExceptionCheck(env))
        return 1;
    if (!p->listener)
        return 0;
    jstring s = jni_string(env, stage);
    if (!s)
        return 1;
    (*env)->CallVoidMethod(env, p->listener, jni.progress, (jdouble)fraction, s);
    (*env)->DeleteLocalRef(env, s);
    return (*env)->ExceptionCheck(env) ? 1 : 0;
}
