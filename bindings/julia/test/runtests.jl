# Run-time tests of LibUNet.jl, for a machine with Julia (`julia --project=bindings/julia -e
# 'using Pkg; Pkg.test()'` with UNET_LIBRARY set, or after a meson build of this checkout).
# The meson suite of this repository cannot run them (no Julia there): it checks the ccalls
# against unet.h and the syntax instead (tests/julia).
using LibUNet
using Test

struct Boom <: Exception end

@testset "LibUNet" begin
    @test startswith(LibUNet.version(), "1.")
    @test "nuclei" in builtin_names()
    model = builtin("nuclei")
    image, truth, n_true = sample_nuclei(160, 128; seed = 3)
    @test size(image) == (160, 128) && n_true > 0

    @testset "predict" begin
        p = predict(model, image; threads = 1, tile = 64)
        @test size(p) == (160, 128, LibUNet.out_channels(model))
        @test all(isfinite, p)
        # A stack of two copies predicts each plane alike.
        stack = cat(image, image; dims = 4)
        stack = reshape(stack, 160, 128, 1, 2)
        ps = predict(model, stack; threads = 1, tile = 64)
        @test ps[:, :, :, 1] == p && ps[:, :, :, 2] == p
        # A contiguous view is read in place, a strided one copied: same results.
        @test predict(model, view(image, :, :); threads = 1, tile = 64) == p
        every_other = view(image, 1:2:160, :)
        @test predict(model, every_other; threads = 1, tile = 64) ==
              predict(model, collect(every_other); threads = 1, tile = 64)
        @test predict(model, Float32.(image); threads = 1, tile = 64) == p
    end

    @testset "segment" begin
        labels, n = segment(model, image)
        @test size(labels) == (160, 128)
        @test n > 0 && maximum(labels) == n
        # A one-channel (W, H, 1) array is the same C image as the (W, H) one.
        labels3, n3 = segment(model, reshape(image, 160, 128, 1))
        @test labels3 == labels && n3 == n
    end

    @testset "errors" begin
        err = try
            LibUNet.load("/nonexistent/model.unet")
        catch e
            e
        end
        @test err isa UNetError && err.code == -2 && LibUNet.kind(err) == :io
        @test occursin("/nonexistent/model.unet", err.message)
        @test_throws UNetError PredictOptions(threads = 5000)
        @test_throws UNetError builtin("no-such-model")
        @test_throws ArgumentError predict(model, rand(Float32, 4, 4, 4, 4, 4))
        m2 = builtin()
        close(m2)
        @test_throws ArgumentError predict(m2, image)
    end

    @testset "progress" begin
        seen = Float64[]
        predict(model, image; tile = 32, progress = (f, stage) -> (push!(seen, f); true))
        @test issorted(seen) && last(seen) == 1.0
        err = try
            segment(model, image; tile = 32, progress = (f, stage) -> false)
        catch e
            e
        end
        @test err isa UNetError && LibUNet.kind(err) == :cancelled
        # An exception in the callback cancels the run and comes back as itself.
        @test_throws Boom predict(model, image; tile = 32, progress = (f, s) -> throw(Boom()))
        @test size(predict(model, image; tile = 32)) == (160, 128, LibUNet.out_channels(model))
    end

    @testset "cancel from another task" begin
        opts = PredictOptions(tile = 32, threads = 1)
        cancel!(opts)
        @test_throws UNetError predict(model, image; options = opts)
        reset_cancel!(opts)
        @test size(predict(model, image; options = opts), 1) == 160
    end

    @testset "threads share a model" begin
        reference = predict(model, image; threads = 1, tile = 64)
        results = Vector{Any}(undef, 4)
        Threads.@threads for i in 1:4
            results[i] = predict(model, image; threads = 1, tile = 64)
        end
        @test all(r == reference for r in results)
    end
end
