# Julia arrays as the images libunet reads. Julia is column-major and C row-major, so the C shape
# is the Julia size reversed: a (W, H) array's memory IS the C (H, W) image, and a (W, H, C) one
# the C (C, H, W). Dense arrays of a libunet element type go through without a copy.

# unet_dtype_t values of unet.h.
const DTYPES = Dict{DataType,Cuint}(
    UInt8 => 1, UInt16 => 2, Int16 => 3, UInt32 => 4, Float32 => 5, Float64 => 6)

const Element = Union{UInt8,UInt16,Int16,UInt32,Float32,Float64}

dtype(::Type{T}) where {T<:Element} = DTYPES[T]

# Column-major contiguous: what libunet can read in place.
is_contiguous(a::StridedArray) = strides(a) == Base.size_to_strides(1, size(a)...)

dense(a::StridedArray{T}) where {T<:Element} = is_contiguous(a) ? a : Array{T}(a)
dense(a::AbstractArray{T}) where {T<:Element} = Array{T}(a)          # lazy wrappers: one copy
dense(a::AbstractArray{<:Real}) = Array{Float32}(a)                   # other numbers: as Float32
dense(a::AbstractArray) =
    throw(ArgumentError("libunet reads real-valued images, not $(eltype(a))"))

"""
    c_image(img, ndims_allowed) -> (array, shape)

The image as libunet reads it (the array itself when it already can, else one copy) and its C
shape (the Julia size reversed, as Int64).
"""
function c_image(img::AbstractArray, ndims_allowed)
    ndims(img) in ndims_allowed || throw(ArgumentError(
        "an image of size $(size(img)) has $(ndims(img)) axes; expected $(join(ndims_allowed, " or "))"))
    a = dense(img)
    return a, Int64[reverse(size(a))...]
end
