"""Loading libunet.so with ctypes and declaring the prototypes of every function in unet.h."""

import ctypes
import os
from ctypes import POINTER, c_char_p, c_double, c_int, c_int64, c_size_t, c_uint, c_uint64, c_void_p

from . import _locate

# Status codes and element types: stable values from unet.h.
OK = 0
E_INVALID_ARG = -1
E_IO = -2
E_FORMAT = -3
E_NOMEM = -4
E_CANCELLED = -5
E_UNSUPPORTED = -6
E_SHAPE = -7
E_INTERNAL = -8

U8, U16, I16, U32, F32, F64 = 1, 2, 3, 4, 5, 6


PROGRESS_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_double, c_char_p)
TRAIN_PROGRESS_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_int64, c_int64, c_double, c_double)
SPLIT_AUTO, SPLIT_TRAIN, SPLIT_VAL = 0, 1, 2

_model_p = c_void_p
_opts_p = c_void_p
_topts_p = c_void_p
_trainer_p = c_void_p
_i64_p = POINTER(c_int64)
_f32_p = POINTER(ctypes.c_float)

_int_p = POINTER(c_int)
_u32_p = POINTER(ctypes.c_uint32)
_str_p = POINTER(c_char_p)

# name: (restype, argtypes). Enumerations (unet_dtype_t, unet_border_t, unet_normalize_t,
# unet_split_t) are C ints.
_PROTOTYPES = {
    "unet_version": (c_uint, []),
    "unet_version_string": (c_char_p, []),
    "unet_status_string": (c_char_p, [c_int]),
    "unet_last_error": (c_char_p, []),
    "unet_model_create": (c_int, [c_char_p, c_uint64, POINTER(_model_p)]),
    "unet_model_load": (c_int, [c_char_p, POINTER(_model_p)]),
    "unet_model_load_with_config": (c_int, [c_char_p, c_char_p, POINTER(_model_p)]),
    "unet_model_load_memory": (c_int, [c_void_p, c_size_t, c_char_p, POINTER(_model_p)]),
    "unet_model_load_builtin": (c_int, [c_char_p, POINTER(_model_p)]),
    "unet_model_builtin_names": (c_int, [POINTER(_str_p), POINTER(c_size_t)]),
    "unet_model_save": (c_int, [_model_p, c_char_p]),
    "unet_model_save_memory": (c_int, [_model_p, POINTER(c_void_p), POINTER(c_size_t)]),
    "unet_buffer_free": (None, [c_void_p]),
    "unet_model_free": (None, [_model_p]),
    "unet_model_ndim": (c_int, [_model_p, _int_p]),
    "unet_model_in_channels": (c_int, [_model_p, _int_p]),
    "unet_model_out_channels": (c_int, [_model_p, _int_p]),
    "unet_model_depth": (c_int, [_model_p, _int_p]),
    "unet_model_halo": (c_int, [_model_p, _int_p]),
    "unet_model_block_multiple": (c_int, [_model_p, _int_p]),
    "unet_model_is_same_padding": (c_int, [_model_p, _int_p]),
    "unet_model_param_count": (c_int, [_model_p, _i64_p]),
    "unet_model_architecture": (c_int, [_model_p, _str_p]),
    "unet_model_metadata": (c_int, [_model_p, _str_p]),
    "unet_model_set_metadata": (c_int, [_model_p, c_char_p, c_char_p]),
    "unet_model_tensor_count": (c_int, [_model_p, _int_p]),
    "unet_model_tensor_info": (c_int, [_model_p, c_int, _str_p, _int_p, _i64_p]),
    "unet_model_get_tensor": (c_int, [_model_p, c_char_p, _f32_p, c_size_t]),
    "unet_model_set_tensor": (c_int, [_model_p, c_char_p, _f32_p, c_size_t]),
    "unet_model_output_shape": (c_int, [_model_p, c_int, _i64_p, _i64_p]),
    "unet_model_fit_size": (c_int, [_model_p, c_int64, _i64_p, _i64_p]),
    "unet_model_forward": (c_int, [_model_p, _opts_p, _f32_p, c_int, _i64_p, _f32_p, c_size_t]),
    "unet_predict_opts_set_threads": (c_int, [_opts_p, c_int]),
    "unet_predict_opts_set_border": (c_int, [_opts_p, c_int]),
    "unet_predict_opts_set_normalize": (c_int, [_opts_p, c_int, c_double, c_double]),
    "unet_predict_opts_set_tile": (c_int, [_opts_p, c_int64]),
    "unet_predict_opts_set_halo": (c_int, [_opts_p, c_int64, c_int]),
    "unet_predict_opts_set_blend": (c_int, [_opts_p, c_int64]),
    "unet_predict_opts_set_batch": (c_int, [_opts_p, c_int]),
    "unet_predict_opts_set_precise": (c_int, [_opts_p, c_int]),
    "unet_predict_opts_set_progress": (c_int, [_opts_p, PROGRESS_FN, c_void_p]),
    "unet_predict_opts_cancel": (c_int, [_opts_p]),
    "unet_predict_opts_reset_cancel": (c_int, [_opts_p]),
    "unet_predict": (c_int, [_model_p, _opts_p, c_void_p, c_int, c_int, _i64_p, _f32_p, c_size_t]),
    "unet_predict_stream": (c_int, [_model_p, _opts_p, c_int64, c_int64, c_int64, c_int64,
                                    c_void_p, c_void_p, c_void_p, c_void_p]),
    "unet_predict_stats": (c_int, [_model_p, _opts_p, c_int64, c_int64, c_int64, c_int64,
                                   c_void_p, c_void_p, POINTER(c_double), POINTER(c_double),
                                   c_size_t]),
    "unet_channel_rule": (c_int, [c_int, c_int64, c_void_p, c_int, c_int, _i64_p, _f32_p,
                                  c_size_t]),
    "unet_tiff_info": (c_int, [c_char_p, _i64_p, _i64_p, _i64_p, _i64_p, _int_p]),
    "unet_tiff_read": (c_int, [c_char_p, POINTER(_f32_p), _i64_p]),
    "unet_tiff_write": (c_int, [c_char_p, c_void_p, c_int, c_int, _i64_p, c_uint]),
    "unet_predict_tiff": (c_int, [_model_p, _opts_p, c_char_p, c_char_p, c_int, c_uint]),
    "unet_train_opts_set_progress": (c_int, [_topts_p, TRAIN_PROGRESS_FN, c_void_p]),
    "unet_trainer_create": (c_int, [_model_p, _topts_p, POINTER(_trainer_p)]),
    "unet_trainer_free": (None, [_trainer_p]),
    "unet_trainer_add_data": (c_int, [_trainer_p, c_void_p, c_int, c_int, _i64_p, c_void_p, c_int,
                                      c_int, _i64_p, c_int]),
    "unet_trainer_add_folders": (c_int, [_trainer_p, c_char_p, c_char_p]),
    "unet_trainer_train": (c_int, [_trainer_p]),
    "unet_trainer_step": (c_int, [_trainer_p, c_int64]),
    "unet_trainer_evaluate": (c_int, [_trainer_p, POINTER(c_double), POINTER(c_double)]),
    "unet_trainer_metrics": (c_int, [_trainer_p, _str_p]),
    "unet_trainer_progress": (c_int, [_trainer_p, _i64_p, _i64_p]),
    "unet_trainer_cancel": (c_int, [_trainer_p]),
    "unet_trainer_reset_cancel": (c_int, [_trainer_p]),
    "unet_trainer_save": (c_int, [_trainer_p, c_char_p]),
    "unet_trainer_save_state": (c_int, [_trainer_p, c_char_p]),
    "unet_trainer_load_state": (c_int, [_trainer_p, c_char_p]),
    "unet_trainer_compute_gradients": (c_int, [_trainer_p, _f32_p, c_int, _i64_p, _f32_p,
                                               c_size_t, _f32_p, POINTER(c_double)]),
    "unet_trainer_get_gradient": (c_int, [_trainer_p, c_char_p, _f32_p, c_size_t]),
    "unet_trainer_step_batch": (c_int, [_trainer_p, _f32_p, c_int, _i64_p, _f32_p, c_size_t,
                                        _f32_p, POINTER(c_double)]),
    # Post-processing: image buffers as c_void_p (numpy .ctypes.data), counts as uint32.
    "unet_threshold": (c_int, [c_void_p, c_int, _i64_p, _opts_p, c_void_p]),
    "unet_label_components": (c_int, [c_void_p, c_int, _i64_p, _opts_p, c_void_p, _u32_p]),
    "unet_distance_transform": (c_int, [c_void_p, c_int, _i64_p, POINTER(c_double), _opts_p,
                                        c_void_p]),
    "unet_local_maxima": (c_int, [c_void_p, c_void_p, c_int, _i64_p, _opts_p, c_void_p,
                                  _u32_p]),
    "unet_watershed_markers": (c_int, [c_void_p, c_void_p, c_void_p, c_int, _i64_p, _opts_p,
                                       c_void_p]),
    "unet_watershed": (c_int, [c_void_p, c_int, _i64_p, POINTER(c_double), _opts_p, c_void_p,
                               _u32_p]),
    "unet_labels_from_3class": (c_int, [c_void_p, c_int, _i64_p, _opts_p, c_void_p, _u32_p]),
    "unet_relabel": (c_int, [c_void_p, c_int, _i64_p, _u32_p]),
    "unet_filter_sizes": (c_int, [c_void_p, c_int, _i64_p, _opts_p, _u32_p]),
    "unet_instance_f1": (c_int, [c_void_p, c_void_p, c_int, _i64_p, c_double, POINTER(c_double),
                                 _i64_p, _i64_p, _i64_p]),
    # Segmentation (segment.py): labels as uint32 buffers.
    "unet_segment_opts_set_predict_opts": (c_int, [_opts_p, _opts_p]),
    "unet_segment_opts_set_progress": (c_int, [_opts_p, PROGRESS_FN, c_void_p]),
    "unet_segment_opts_cancel": (c_int, [_opts_p]),
    "unet_segment_opts_reset_cancel": (c_int, [_opts_p]),
    "unet_segment": (c_int, [_model_p, _opts_p, c_void_p, c_int, c_int, _i64_p, c_void_p,
                             c_size_t, _u32_p]),
    "unet_segment_probabilities": (c_int, [_model_p, _opts_p, c_void_p, c_int, _i64_p, c_void_p,
                                           c_size_t, c_void_p, _u32_p]),
    "unet_segment_tiff": (c_int, [_model_p, _opts_p, c_char_p, c_char_p, c_uint, _u32_p]),
    "unet_segment_scale": (c_int, [_model_p, _opts_p, c_void_p, c_int, c_int, _i64_p,
                                   POINTER(c_double), POINTER(c_double)]),
    "unet_segment_scale_tiff": (c_int, [_model_p, _opts_p, c_char_p, POINTER(c_double),
                                        POINTER(c_double)]),
    # Click-to-segment (click.py): session and result handles as c_void_p.
    "unet_click_opts_set_predict_opts": (c_int, [_opts_p, _opts_p]),
    "unet_click_session_create": (c_int, [_model_p, _opts_p, c_void_p, c_int, c_int, _i64_p,
                                          POINTER(c_void_p)]),
    "unet_click_session_free": (None, [c_void_p]),
    "unet_click_session_set_opts": (c_int, [c_void_p, _opts_p]),
    "unet_click_session_set_scale": (c_int, [c_void_p, c_double]),
    "unet_click_session_scale": (c_int, [c_void_p, POINTER(c_double)]),
    "unet_click_session_stats": (c_int, [c_void_p, _i64_p, _i64_p, _i64_p]),
    "unet_click_session_cancel": (c_int, [c_void_p]),
    "unet_click_session_reset_cancel": (c_int, [c_void_p]),
    "unet_click": (c_int, [c_void_p, c_int64, c_int64, c_int64, POINTER(c_void_p)]),
    "unet_click_result_free": (None, [c_void_p]),
    "unet_click_result_bbox": (c_int, [c_void_p, _i64_p]),
    "unet_click_result_area": (c_int, [c_void_p, _i64_p]),
    "unet_click_result_complete": (c_int, [c_void_p, _int_p]),
    "unet_click_result_mask": (c_int, [c_void_p, POINTER(POINTER(ctypes.c_uint8))]),
    "unet_click_result_ring_count": (c_int, [c_void_p, _i64_p]),
    "unet_click_result_ring": (c_int, [c_void_p, c_int64, POINTER(_i64_p), _i64_p]),
    # Sample images.
    "unet_sample_opts_set_seed": (c_int, [_opts_p, c_uint64]),
    "unet_sample_nuclei": (c_int, [_opts_p, c_int64, c_int64, c_void_p, c_void_p, _u32_p]),
}

# The options objects share one mechanism (the generic setter, JSON in and out, describe).
OPTION_KINDS = ("predict", "segment", "click", "train", "post", "sample")
for _kind in OPTION_KINDS:
    _PROTOTYPES.update({
        "unet_%s_opts_create" % _kind: (c_int, [POINTER(_opts_p)]),
        "unet_%s_opts_free" % _kind: (None, [_opts_p]),
        "unet_%s_opts_set" % _kind: (c_int, [_opts_p, c_char_p, c_char_p]),
        "unet_%s_opts_set_json" % _kind: (c_int, [_opts_p, c_char_p]),
        "unet_%s_opts_json" % _kind: (c_int, [_opts_p, _str_p]),
        "unet_%s_opts_describe" % _kind: (c_int, [_opts_p, _str_p]),
    })


def _load():
    tried = []
    for path in _locate.candidates():
        if os.path.exists(path):
            # CDLL, not PyDLL: calls release the GIL so other Python threads keep running.
            lib = ctypes.CDLL(path)
            break
        tried.append(path)
    else:
        raise ImportError("libunet.so not found (tried: %s); %s"
                          % (", ".join(tried), _locate.HINT))
    for name, (restype, argtypes) in _PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib, path


lib, path = _load()


def status_string(code):
    return lib.unet_status_string(code).decode("utf-8", "replace")


def last_error():
    return (lib.unet_last_error() or b"").decode("utf-8", "replace")


def i64_array(values):
    return (c_int64 * len(values))(*values)
