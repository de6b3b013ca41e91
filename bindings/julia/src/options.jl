# Options objects (unet_predict_opts_t, unet_segment_opts_t): created with keyword arguments
# whose names are libunet's option keys (threads, tile, border, normalize, threshold, ...), set
# through the C API's generic setter, which validates them against the option table.

abstract type Options end

"""
    PredictOptions(; key = value, ...)

Prediction options; keys as in unet.h (`threads`, `tile` (an Int, `:auto` or `:whole`), `halo`,
`blend`, `batch`, `border` (`:auto`, `:network`, `:reflect`, `:zero`), `normalize` (`:auto`,
`:none`, `:zmuv`, `:percentile`, `:fixed`), `norm_low`, `norm_high`, `norm_mean`, `norm_std`,
`precise`). A refused value throws [`UNetError`](@ref) naming the bounds. Freed by the garbage
collector or `close`. Use one object per task when passing `progress` to the calls.
"""
mutable struct PredictOptions <: Options
    ptr::Ptr{Cvoid}
end

"""
    SegmentOptions(; key = value, ...)

Segmentation options: every prediction key plus `threshold`, `min_distance`, `split`,
`min_size`, `scale`, `pixel_size`, `strip_rows`, `strip_overlap`; `:auto` (the default) leaves
the choice to the model's metadata.
"""
mutable struct SegmentOptions <: Options
    ptr::Ptr{Cvoid}
end

# One literal ccall per C function (the check script reads them from this file).
c_create(::Type{PredictOptions}, out) =
    ccall((:unet_predict_opts_create, libunet), Cint, (Ref{Ptr{Cvoid}},), out)
c_create(::Type{SegmentOptions}, out) =
    ccall((:unet_segment_opts_create, libunet), Cint, (Ref{Ptr{Cvoid}},), out)
c_free(o::PredictOptions) = ccall((:unet_predict_opts_free, libunet), Cvoid, (Ptr{Cvoid},), o.ptr)
c_free(o::SegmentOptions) = ccall((:unet_segment_opts_free, libunet), Cvoid, (Ptr{Cvoid},), o.ptr)
c_set(o::PredictOptions, key, value) =
    ccall((:unet_predict_opts_set, libunet), Cint, (Ptr{Cvoid}, Cstring, Cstring), o, key, value)
c_set(o::SegmentOptions, key, value) =
    ccall((:unet_segment_opts_set, libunet), Cint, (Ptr{Cvoid}, Cstring, Cstring), o, key, value)
c_json(o::PredictOptions, out) =
    ccall((:unet_predict_opts_json, libunet), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}), o, out)
c_json(o::SegmentOptions, out) =
    ccall((:unet_segment_opts_json, libunet), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}), o, out)
c_describe(o::PredictOptions, out) =
    ccall((:unet_predict_opts_describe, libunet), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}), o, out)
c_describe(o::SegmentOptions, out) =
    ccall((:unet_segment_opts_describe, libunet), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}), o, out)
c_set_progress(o::PredictOptions, fn, user) = ccall((:unet_predict_opts_set_progress, libunet),
    Cint, (Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}), o, fn, user)
c_set_progress(o::SegmentOptions, fn, user) = ccall((:unet_segment_opts_set_progress, libunet),
    Cint, (Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}), o, fn, user)
c_cancel(o::PredictOptions) = ccall((:unet_predict_opts_cancel, libunet), Cint, (Ptr{Cvoid},), o)
c_cancel(o::SegmentOptions) = ccall((:unet_segment_opts_cancel, libunet), Cint, (Ptr{Cvoid},), o)
c_reset_cancel(o::PredictOptions) =
    ccall((:unet_predict_opts_reset_cancel, libunet), Cint, (Ptr{Cvoid},), o)
c_reset_cancel(o::SegmentOptions) =
    ccall((:unet_segment_opts_reset_cancel, libunet), Cint, (Ptr{Cvoid},), o)

function new_options(::Type{O}; kwargs...) where {O<:Options}
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(c_create(O, out))
    opts = finalizer(close, O(out[]))
    set!(opts; kwargs...)
    return opts
end

PredictOptions(; kwargs...) = new_options(PredictOptions; kwargs...)
SegmentOptions(; kwargs...) = new_options(SegmentOptions; kwargs...)

# ccall keeps `o` alive during the call and passes its pointer.
function Base.unsafe_convert(::Type{Ptr{Cvoid}}, o::Options)
    o.ptr == C_NULL && throw(ArgumentError("$(typeof(o)) used after close"))
    return o.ptr
end

"""
    close(opts)

Frees the options now (the garbage collector would otherwise).
"""
function Base.close(o::Options)
    if o.ptr != C_NULL
        c_free(o)
        o.ptr = C_NULL
    end
    return nothing
end

option_string(v::Bool) = v ? "true" : "false"
option_string(v::Union{Symbol,AbstractString}) = String(v)
option_string(v::Integer) = string(v)
option_string(v::Real) = string(Float64(v))
option_string(::Nothing) = "auto"

"""
    set!(opts; key = value, ...) -> opts

Sets options by libunet's key names; a refused value throws [`UNetError`](@ref) and leaves
that key unchanged.
"""
function set!(o::Options; kwargs...)
    for (key, value) in kwargs
        check(c_set(o, String(key), option_string(value)))
    end
    return o
end

"""
    LibUNet.json(opts) -> String

The current values as a JSON object.
"""
function json(o::Options)
    out = Ref{Ptr{UInt8}}(C_NULL)
    check(c_json(o, out))
    return unsafe_string(out[])
end

"""
    LibUNet.describe(opts) -> String

The option table (name, type, default, min, max, choices, help) as a JSON array.
"""
function describe(o::Options)
    out = Ref{Ptr{UInt8}}(C_NULL)
    check(c_describe(o, out))
    return unsafe_string(out[])
end

"""
    cancel!(opts)

Cancels the calls running with these options, from any task or thread; they throw a
[`UNetError`](@ref) of kind `:cancelled`. The request stays until [`reset_cancel!`](@ref).
"""
cancel!(o::Options) = check(c_cancel(o))

"""
    reset_cancel!(opts)

Clears a cancel request so that later calls with these options run.
"""
reset_cancel!(o::Options) = check(c_reset_cancel(o))

# The options a call uses: the given object, or new ones from keyword arguments.
function call_options(::Type{O}, options, kwargs) where {O<:Options}
    options === nothing && return O(; kwargs...)
    isempty(kwargs) || throw(ArgumentError("pass either `options` or option keywords, not both"))
    options isa O || throw(ArgumentError("expected $(O), got $(typeof(options))"))
    return options
end
