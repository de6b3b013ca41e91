/* The public training options object: the calls of api/opts_api.h. */
#include "api/opts_api.h"
#include "core/status.h"
#include "train/train_opts.h"

static const unet__opts_table *const table = &unet__train_opts_table;

UNET__OPTS_API(unet_train_opts, table)
UNET__OPTS_PROGRESS(unet_train_opts, table, unet_train_progress_fn)
