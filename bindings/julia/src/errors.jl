# libunet's status codes become UNetError exceptions carrying the code and libunet's message.

"""
    UNetError(code, message)

A failed libunet call: `code` is the status (a negative `UNET_E_*` value of unet.h, see
[`STATUS`](@ref)) and `message` libunet's explanation naming the offending value.
"""
struct UNetError <: Exception
    code::Int
    message::String
end

"""
    LibUNet.STATUS

The status codes of unet.h by name (`:invalid_argument => -1`, ...).
"""
const STATUS = Dict(
    :invalid_argument => -1, :io => -2, :format => -3, :out_of_memory => -4,
    :cancelled => -5, :unsupported => -6, :shape => -7, :internal => -8)

"""
    LibUNet.kind(e::UNetError) -> Symbol

The name of the error's status code (`:io`, `:cancelled`, ...; `:other` if unknown).
"""
function kind(e::UNetError)
    for (name, code) in STATUS
        code == e.code && return name
    end
    return :other
end

status_string(code::Integer) =
    unsafe_string(ccall((:unet_status_string, libunet), Cstring, (Cint,), code))

Base.showerror(io::IO, e::UNetError) =
    print(io, "UNetError: ", e.message, " (", status_string(e.code), ", code ", e.code, ")")

# The error for a status just returned, or nothing for UNET_OK. The message is thread-local and
# replaced by the next libunet call, so this runs right after the call.
function status_error(status::Integer)
    status == 0 && return nothing
    message = unsafe_string(ccall((:unet_last_error, libunet), Cstring, ()))
    return UNetError(status, isempty(message) ? status_string(status) : message)
end

function check(status::Integer)
    err = status_error(status)
    err === nothing || throw(err)
    return nothing
end
