# Segmentation of an in-memory image into instance labels.

"""
    segment(model, image; progress = nothing, options = nothing, key = value...) -> (labels, n)

Segments `image`, x-first `(W, H)` or `(W, H, C)`, into UInt32 instance labels of size `(W, H)`
(0 background, objects 1..n) as the model's metadata says (threshold and watershed, or three
classes). Keywords are libunet's option names (`threshold`, `min_distance`, `split`,
`min_size`, `scale`, and every prediction key; see [`SegmentOptions`](@ref)); `progress` as for
[`predict`](@ref).
"""
function segment(m::Model, image::AbstractArray; progress = nothing, options = nothing, kwargs...)
    a, shape = c_image(image, (2, 3))
    labels = Matrix{UInt32}(undef, size(a, 1), size(a, 2))
    count = Ref{UInt32}(0)
    opts = call_options(SegmentOptions, options, kwargs)
    GC.@preserve a begin
        with_progress(opts, progress) do
            ccall((:unet_segment, libunet), Cint,
                  (Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Cuint, Cint, Ptr{Int64}, Ptr{UInt32},
                   Csize_t, Ref{UInt32}),
                  m, opts, pointer(a), dtype(eltype(a)), length(shape), shape, labels,
                  length(labels), count)
        end
    end
    return labels, Int(count[])
end
