# The model: a handle on a C unet_model_t, freed by its finalizer or by close.

"""
    Model

A U-Net (graph, weights, metadata) held by libunet. Get one with [`builtin`](@ref),
[`LibUNet.load`](@ref) or [`LibUNet.create`](@ref). Models are immutable in libunet, so tasks on
several threads may predict with one model at once. Freed by the garbage collector, or at once
by `close(model)` (using it afterwards throws an `ArgumentError`).
"""
mutable struct Model
    ptr::Ptr{Cvoid}
    function Model(ptr::Ptr{Cvoid})
        ptr == C_NULL && throw(ArgumentError("NULL model"))
        return finalizer(close, new(ptr))
    end
end

function Base.close(m::Model)
    if m.ptr != C_NULL
        ccall((:unet_model_free, libunet), Cvoid, (Ptr{Cvoid},), m.ptr)
        m.ptr = C_NULL
    end
    return nothing
end

Base.isopen(m::Model) = m.ptr != C_NULL

function Base.unsafe_convert(::Type{Ptr{Cvoid}}, m::Model)
    m.ptr == C_NULL && throw(ArgumentError("model used after close"))
    return m.ptr
end

Base.show(io::IO, m::Model) =
    print(io, isopen(m) ? "LibUNet.Model($(architecture(m)))" : "LibUNet.Model(closed)")

# A model from a C constructor that fills `out`.
function model_from(construct)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(construct(out))
    return Model(out[])
end

"""
    LibUNet.load(path) -> Model

Loads a `.unet` file.
"""
load(path::AbstractString) = model_from(out ->
    ccall((:unet_model_load, libunet), Cint, (Cstring, Ref{Ptr{Cvoid}}), path, out))

"""
    builtin(name = "nuclei") -> Model

A model compiled into libunet (`"nuclei"`: fluorescence nuclei segmentation).
"""
builtin(name::AbstractString = "nuclei") = model_from(out ->
    ccall((:unet_model_load_builtin, libunet), Cint, (Cstring, Ref{Ptr{Cvoid}}), name, out))

"""
    builtin_names() -> Vector{String}

The names [`builtin`](@ref) knows.
"""
function builtin_names()
    names = Ref{Ptr{Ptr{UInt8}}}(C_NULL)
    count = Ref{Csize_t}(0)
    check(ccall((:unet_model_builtin_names, libunet), Cint,
                (Ref{Ptr{Ptr{UInt8}}}, Ref{Csize_t}), names, count))
    return [unsafe_string(unsafe_load(names[], i)) for i in 1:count[]]
end

"""
    LibUNet.create(config_json; seed = 0) -> Model

A new model from a U-Net config (JSON; `"{}"` gives the defaults) with weights drawn from
`seed`.
"""
create(config::AbstractString; seed::Integer = 0) = model_from(out ->
    ccall((:unet_model_create, libunet), Cint, (Cstring, UInt64, Ref{Ptr{Cvoid}}),
          config, seed, out))

"""
    LibUNet.save(model, path)

Saves the model as a `.unet` file.
"""
save(m::Model, path::AbstractString) =
    check(ccall((:unet_model_save, libunet), Cint, (Ptr{Cvoid}, Cstring), m, path))

function int_property(getter, m::Model)
    value = Ref{Cint}(0)
    check(getter(value))
    return Int(value[])
end

"""
    LibUNet.in_channels(model) -> Int

Input channels of the model.
"""
in_channels(m::Model) = int_property(m) do out
    ccall((:unet_model_in_channels, libunet), Cint, (Ptr{Cvoid}, Ref{Cint}), m, out)
end

"""
    LibUNet.out_channels(model) -> Int

Output channels of the model (the third axis of [`predict`](@ref)'s result).
"""
out_channels(m::Model) = int_property(m) do out
    ccall((:unet_model_out_channels, libunet), Cint, (Ptr{Cvoid}, Ref{Cint}), m, out)
end

"""
    LibUNet.halo(model) -> Int

Receptive-field margin in pixels.
"""
halo(m::Model) = int_property(m) do out
    ccall((:unet_model_halo, libunet), Cint, (Ptr{Cvoid}, Ref{Cint}), m, out)
end

"""
    LibUNet.block_multiple(model) -> Int

Product of the pooling factors: tile sizes are multiples of it.
"""
block_multiple(m::Model) = int_property(m) do out
    ccall((:unet_model_block_multiple, libunet), Cint, (Ptr{Cvoid}, Ref{Cint}), m, out)
end

"""
    LibUNet.architecture(model) -> String

The architecture as a JSON object.
"""
function architecture(m::Model)
    json = Ref{Ptr{UInt8}}(C_NULL)
    check(ccall((:unet_model_architecture, libunet), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}), m, json))
    return unsafe_string(json[])
end

"""
    LibUNet.metadata(model) -> String

The whole libunet metadata document as JSON.
"""
function metadata(m::Model)
    json = Ref{Ptr{UInt8}}(C_NULL)
    check(ccall((:unet_model_metadata, libunet), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}), m, json))
    return unsafe_string(json[])
end
