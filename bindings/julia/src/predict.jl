# Prediction of an in-memory image.

"""
    predict(model, image; progress = nothing, options = nothing, key = value...) -> Array{Float32}

Predicts `image`, x-first: `(W, H)`, `(W, H, C)` or a stack `(W, H, C, P)` (C's `(H, W)`,
`(C, H, W)`, `(P, C, H, W)`), of UInt8, UInt16, Int16, UInt32, Float32 or Float64 (other real
types are converted to Float32). The result is Float32 `(W, H, C_out)`, or `(W, H, C_out, P)`
for a stack. Dense arrays are read in place, and the result is written in place.

Options are keywords with libunet's names (`threads`, `tile`, `border`, `normalize`, ...; see
[`PredictOptions`](@ref)), or a `PredictOptions` object passed as `options` (to reuse it, or to
[`cancel!`](@ref) the call from another task).

`progress(fraction, stage)` is called on this thread as the work advances; returning `false`
cancels (a [`UNetError`](@ref) of kind `:cancelled`), and an exception it throws cancels the run
and is rethrown here once libunet has returned.
"""
function predict(m::Model, image::AbstractArray; progress = nothing, options = nothing, kwargs...)
    a, shape = c_image(image, (2, 3, 4))
    c_out = out_channels(m)
    out_size = ndims(a) == 4 ? (size(a, 1), size(a, 2), c_out, size(a, 4)) :
                               (size(a, 1), size(a, 2), c_out)
    out = Array{Float32}(undef, out_size)
    opts = call_options(PredictOptions, options, kwargs)
    GC.@preserve a begin
        with_progress(opts, progress) do
            ccall((:unet_predict, libunet), Cint,
                  (Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Cuint, Cint, Ptr{Int64}, Ptr{Cfloat},
                   Csize_t),
                  m, opts, pointer(a), dtype(eltype(a)), length(shape), shape, out, length(out))
        end
    end
    return out
end
