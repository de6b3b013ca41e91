"""
    LibUNet

Julia bindings of libunet, a U-Net engine for bioimage analysis (C API: `include/unet.h`).

Arrays are x-first: a Julia array of size `(W, H)` is, in memory, exactly the C row-major
`(H, W)` image libunet reads, so it is passed without a copy; `(W, H, C)` is C's `(C, H, W)` and
`(W, H, C, P)` its `(P, C, H, W)`. Results come back the same way.

```julia
using LibUNet
model = builtin("nuclei")
labels, n = segment(model, image)            # image: (W, H) UInt8/UInt16/Float32/...
prob = predict(model, image; tile = 256, threads = 2, progress = (f, stage) -> true)
```
"""
module LibUNet

using Libdl

export Model, UNetError, PredictOptions, SegmentOptions
export builtin, builtin_names, predict, segment, cancel!, reset_cancel!, sample_nuclei

include("library.jl")
include("errors.jl")
include("arrays.jl")
include("options.jl")
include("progress.jl")
include("model.jl")
include("predict.jl")
include("segment.jl")
include("sample.jl")

end # module
