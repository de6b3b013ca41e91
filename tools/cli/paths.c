/* Inputs and outputs of a run, checked before any work (see paths.h). */
#include "paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A file's identity: device and inode of the deepest part of its path that exists, and the
 * rest of the path below it ("" when the file itself exists). */
struct cli_path_entry {
    char *path, *role, *from;
    int output;
    size_t order;
    dev_t dev;
    ino_t ino;
    char *rest;
};

static int oom(const cli_paths *p)
{
    fprintf(stderr, "unet: %s: out of memory\n", p->command);
    return -1;
}

/* The folder part of a path ("." for a bare name, "/" for "/x"); trailing slashes of the
 * name itself are ignored. NULL when out of memory. */
static char *parent_of(const char *path, const char **name)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    size_t cut = n;
    while (cut > 0 && path[cut - 1] != '/')
        cut--;
    *name = path + cut;
    if (cut == 0)
        return strdup(".");
    size_t keep = cut - 1;
    while (keep > 0 && path[keep - 1] == '/')
        keep--;
    char *parent = strndup(path, keep ? keep : 1); /* "/x": the root */
    return parent;
}

/* The identity of path; 0, or -1 with errno (a folder on the way cannot be searched). */
static int identify(const char *path, dev_t *dev, ino_t *ino, char **rest)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        *dev = st.st_dev;
        *ino = st.st_ino;
        *rest = strdup("");
        return *rest ? 0 : -1;
    }
    if (errno != ENOENT || strcmp(path, ".") == 0 || strcmp(path, "/") == 0)
        return -1;
    const char *name;
    char *parent = parent_of(path, &name);
    if (!parent)
        return -1;
    char *above = NULL;
    int rc = identify(parent, dev, ino, &above);
    free(parent);
    if (rc != 0)
        return -1;
    size_t len = strcspn(name, "/");
    if (len == 0 || (len == 1 && name[0] == '.')) { /* "x/" or "x/.": the folder itself */
        *rest = above;
        return 0;
    }
    *rest = malloc(strlen(above) + len + 2);
    if (*rest)
        sprintf(*rest, "%s%s%.*s", above, *above ? "/" : "", (int)len, name);
    free(above);
    return *rest ? 0 : -1;
}

static int add(cli_paths *p, const char *path, const char *role, const char *from, int output)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        cli_path_entry *items = realloc(p->items, cap * sizeof *items);
        if (!items)
            return oom(p);
        p->items = items;
        p->cap = cap;
    }
    cli_path_entry *e = &p->items[p->n];
    memset(e, 0, sizeof *e);
    e->output = output;
    e->order = p->n;
    e->path = strdup(path);
    e->role = strdup(role);
    e->from = from ? strdup(from) : NULL;
    if (!e->path || !e->role || (from && !e->from)) {
        free(e->path), free(e->role), free(e->from);
        return oom(p);
    }
    if (identify(path, &e->dev, &e->ino, &e->rest) != 0) {
        int err = errno;
        fprintf(stderr, "unet: %s: cannot %s the %s '%s': %s\n", p->command,
                output ? "write" : "open", role, path, strerror(err));
        free(e->path), free(e->role), free(e->from);
        return -1;
    }
    p->n++;
    return 0;
}

int cli_paths_input(cli_paths *p, const char *path, const char *role)
{
    struct stat st;
    if (stat(path, &st) != 0) { /* refused now rather than after the work before it */
        fprintf(stderr, "unet: %s: cannot open the %s '%s': %s\n", p->command, role, path,
                strerror(errno));
        return -1;
    }
    return add(p, path, role, NULL, 0);
}

/* The folder an output is created in: it exists, is a folder and takes new files. */
static int check_folder(const char *command, const char *role, const char *path,
                        const char *dir)
{
    struct stat st;
    const char *why = NULL;
    if (stat(dir, &st) != 0)
        why = errno == ENOENT ? "does not exist" : strerror(errno);
    else if (!S_ISDIR(st.st_mode))
        why = "is not a folder";
    else if (access(dir, W_OK | X_OK) != 0)
        why = errno == EACCES ? "is not writable" : strerror(errno);
    if (!why)
        return 0;
    fprintf(stderr, "unet: %s: cannot write the %s '%s': the folder '%s' %s\n", command, role,
            path, dir, why);
    return -1;
}

int cli_paths_output(cli_paths *p, const char *path, const char *role, const char *from,
                     int in_checked_folder)
{
    size_t n = strlen(path);
    if (n == 0) {
        fprintf(stderr, "unet: %s: the %s needs a file name, not ''\n", p->command, role);
        return -1;
    }
    struct stat st;
    if (stat(path, &st) == 0) {
        const char *why = S_ISDIR(st.st_mode) ? "it is a folder; name a file"
                          : S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)
                              ? NULL
                              : "it exists and is not a regular file";
        if (why) {
            fprintf(stderr, "unet: %s: cannot write the %s '%s': %s\n", p->command, role, path,
                    why);
            return -1;
        }
    } else if (path[n - 1] == '/') {
        fprintf(stderr, "unet: %s: cannot write the %s '%s': that names a folder; name a "
                        "file\n", p->command, role, path);
        return -1;
    }
    if (!(stat(path, &st) == 0 && S_ISCHR(st.st_mode)) && !in_checked_folder) {
        const char *name;
        char *dir = parent_of(path, &name);
        if (!dir)
            return oom(p);
        int rc = check_folder(p->command, role, path, dir);
        free(dir);
        if (rc != 0)
            return -1;
    }
    if (stat(path, &st) == 0 && S_ISCHR(st.st_mode))
        return 0; /* /dev/null may take any number of outputs */
    return add(p, path, role, from, 1);
}

static int cmp_identity(const void *pa, const void *pb)
{
    const cli_path_entry *a = pa, *b = pb;
    if (a->dev != b->dev)
        return a->dev < b->dev ? -1 : 1;
    if (a->ino != b->ino)
        return a->ino < b->ino ? -1 : 1;
    int c = strcmp(a->rest, b->rest);
    if (c)
        return c;
    return a->order < b->order ? -1 : a->order > b->order;
}

static int same_file(const cli_path_entry *a, const cli_path_entry *b)
{
    return a->dev == b->dev && a->ino == b->ino && strcmp(a->rest, b->rest) == 0;
}

/* One line for a group of entries that are one file (sorted by order; at least one output). */
static void report(const cli_paths *p, const cli_path_entry *g, size_t count)
{
    const cli_path_entry *in = NULL, *o1 = NULL, *o2 = NULL;
    for (size_t i = 0; i < count; i++) {
        if (!g[i].output && !in)
            in = &g[i];
        else if (g[i].output && !o1)
            o1 = &g[i];
        else if (g[i].output && !o2)
            o2 = &g[i];
    }
    if (in)
        fprintf(stderr, "unet: %s: the %s '%s' and the %s '%s' are the same file: an output "
                        "must not overwrite an input\n", p->command, o1->role, o1->path,
                in->role, in->path);
    else if (o1->from && o2->from && strcmp(o1->from, o2->from) != 0)
        fprintf(stderr, "unet: %s: the inputs '%s' and '%s' would both write the %s '%s': "
                        "rename one of them or run them separately\n", p->command, o1->from,
                o2->from, o1->role, o1->path);
    else
        fprintf(stderr, "unet: %s: the %s '%s' and the %s '%s' are the same file: give each "
                        "output its own name\n", p->command, o1->role, o1->path, o2->role,
                o2->path);
}

int cli_paths_check(cli_paths *p)
{
    if (p->n < 2)
        return 0;
    qsort(p->items, p->n, sizeof *p->items, cmp_identity);
    for (size_t i = 0; i < p->n;) {
        size_t j = i + 1, outputs = p->items[i].output;
        while (j < p->n && same_file(&p->items[i], &p->items[j]))
            outputs += p->items[j++].output;
        if (j - i > 1 && outputs > 0) {
            report(p, &p->items[i], j - i);
            return -1;
        }
        i = j;
    }
    return 0;
}

void cli_paths_free(cli_paths *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i].path);
        free(p->items[i].role);
        free(p->items[i].from);
        free(p->items[i].rest);
    }
    free(p->items);
    p->items = NULL;
    p->n = p->cap = 0;
}

int cli_check_output_folder(const char *command, const char *dir, const char *role)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            fprintf(stderr, "unet: %s: the %s folder '%s' is a file, not a folder\n", command,
                    role, dir);
            return -1;
        }
        if (access(dir, W_OK | X_OK) != 0) {
            fprintf(stderr, "unet: %s: cannot write in the %s folder '%s': %s\n", command,
                    role, dir, strerror(errno));
            return -1;
        }
        return 0;
    }
    const char *name;
    char *parent = parent_of(dir, &name);
    if (!parent) {
        fprintf(stderr, "unet: %s: out of memory\n", command);
        return -1;
    }
    char what[64];
    snprintf(what, sizeof what, "%s folder", role);
    int rc = check_folder(command, what, dir, parent);
    free(parent);
    return rc;
}

int cli_make_output_folder(const char *command, const char *dir, const char *role)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST)
        return 0;
    fprintf(stderr, "unet: %s: cannot create the %s folder '%s': %s\n", command, role, dir,
            strerror(errno));
    return -1;
}
