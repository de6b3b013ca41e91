# Finding libunet. Every ccall names the library `libunet`; Julia resolves that name through
# Libdl.DL_LOAD_PATH at the first call, which __init__ fills from UNET_LIBRARY (libunet.so or
# its folder), else from this checkout's build/lib. Without either, the system's loader path
# (an installed libunet) is used.

const libunet = "libunet"

const _CHECKOUT_LIB = normpath(joinpath(@__DIR__, "..", "..", "..", "build", "lib"))

function __init__()
    where = get(ENV, "UNET_LIBRARY", "")
    dir = isempty(where) ? _CHECKOUT_LIB : (isdir(where) ? where : dirname(where))
    if isdir(dir) && !(dir in Libdl.DL_LOAD_PATH)
        pushfirst!(Libdl.DL_LOAD_PATH, dir)
    end
    number = ccall((:unet_version, libunet), Cuint, ())
    div(number, 10000) == 1 || error("LibUNet needs libunet 1.x, found $(version())")
    return nothing
end

"""
    LibUNet.version() -> String

Version of the libunet actually loaded ("1.0.0").
"""
version() = unsafe_string(ccall((:unet_version_string, libunet), Cstring, ()))
