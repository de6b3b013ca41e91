# Synthetic nuclei images (what the built-in model was trained on), for examples and tests.

"""
    sample_nuclei(width, height; seed = 0, bits = 16) -> (image, labels, n)

A synthetic fluorescence-nuclei image, x-first `(width, height)` UInt16 with values below
`2^bits`, its UInt32 instance labels and their count. The same arguments give the same image.
"""
function sample_nuclei(width::Integer, height::Integer; seed::Integer = 0, bits::Integer = 16)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:unet_sample_opts_create, libunet), Cint, (Ref{Ptr{Cvoid}},), out))
    opts = out[]
    try
        for (key, value) in (("seed", seed), ("bits", bits))
            check(ccall((:unet_sample_opts_set, libunet), Cint, (Ptr{Cvoid}, Cstring, Cstring),
                        opts, key, string(value)))
        end
        image = Matrix{UInt16}(undef, width, height)
        labels = Matrix{UInt32}(undef, width, height)
        count = Ref{UInt32}(0)
        check(ccall((:unet_sample_nuclei, libunet), Cint,
                    (Ptr{Cvoid}, Int64, Int64, Ptr{UInt16}, Ptr{UInt32}, Ref{UInt32}),
                    opts, height, width, image, labels, count))
        return image, labels, Int(count[])
    finally
        ccall((:unet_sample_opts_free, libunet), Cvoid, (Ptr{Cvoid},), opts)
    end
end
