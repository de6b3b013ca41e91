# Progress callbacks. libunet calls `unet_progress_fn` on the calling thread; the trampoline
# below (a plain function, so @cfunction needs no closure) finds the Julia callback through the
# `user` pointer. An exception thrown by the callback must not unwind through C: it is stashed,
# the trampoline returns "cancel", and the exception is rethrown once the C call has returned.
#
# The trampoline is installed on every call, with or without a callback: each report enters
# Julia, which gives the garbage collector a safepoint, so other threads (one calling
# `cancel!`, say) are not blocked for the whole run by this thread sitting in C.

mutable struct ProgressState
    callback::Any          # (fraction, stage) -> Bool, or nothing
    error::Any             # the callback's exception, or nothing
end

function progress_trampoline(user::Ptr{Cvoid}, fraction::Cdouble, stage::Ptr{UInt8})::Cint
    state = unsafe_pointer_to_objref(user)::ProgressState
    state.error === nothing || return Cint(1)
    state.callback === nothing && return Cint(0)
    try
        name = stage == C_NULL ? "" : unsafe_string(stage)
        return state.callback(Float64(fraction), name) === false ? Cint(1) : Cint(0)
    catch err
        state.error = err
        return Cint(1)
    end
end

"""
    with_progress(call, opts, callback)

Runs `call()` (a ccall using `opts`, returning its status) with the trampoline installed on
`opts`; afterwards removes it, rethrows the callback's exception if there was one, else throws
the call's error.
"""
function with_progress(call, opts::Options, callback)
    state = ProgressState(callback, nothing)
    trampoline = @cfunction(progress_trampoline, Cint, (Ptr{Cvoid}, Cdouble, Ptr{UInt8}))
    local err
    GC.@preserve state begin
        check(c_set_progress(opts, trampoline, pointer_from_objref(state)))
        try
            err = status_error(call())   # read at once: the message is thread-local
        finally
            c_set_progress(opts, C_NULL, C_NULL)
        end
    end
    state.error === nothing || throw(state.error)
    err === nothing || throw(err)
    return nothing
end
