"""What a host needs around long calls: unet.CancelToken from another thread, models that cannot
be freed under a running call, a click session or a trainer (issue 16, 8), Ctrl-C as the
library's cancel raising KeyboardInterrupt, colour and empty arrays (issue 16, 14)."""
import gc
import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import unet
from unet.train import Trainer

BINDINGS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "bindings", "python")


@pytest.fixture(scope="module")
def model():
    # sigmoid output and a fixed normalisation: predict and segment run on any image
    with unet.Model.create({"depth": 3, "base_features": 8, "final_activation": "sigmoid"},
                           seed=5) as m:
        m.set_metadata("preprocessing", {"normalize": "none"})
        m.set_metadata("output", {"target": "foreground"})
        yield m


def big_image(side):
    return np.random.default_rng(side).integers(0, 1000, (side, side)).astype(np.uint16)


def cancel_later(token, delay):
    """Cancel `token` after `delay` s from a timer thread; returns a list that receives the
    time of the cancel."""
    when = []

    def fire():
        when.append(time.monotonic())
        token.cancel()

    timer = threading.Timer(delay, fire)
    timer.start()
    return when, timer


# ---- CancelToken ---------------------------------------------------------------------------

@pytest.mark.parametrize("call", ["predict", "segment"])
def test_cancel_token_from_another_thread(model, call):
    image = big_image(2048)
    token = unet.CancelToken()
    assert not token.cancelled
    when, timer = cancel_later(token, 0.5)
    with pytest.raises(unet.Cancelled):
        # Cancellation is checked between tiles. Tile 64 (110-px windows): one every few
        # milliseconds in a release build and under 0.1 s in the -O0 sanitizer build; with
        # 256 (302-px windows) a tile took 0.65 s there, and up to 1.3 s beside another test.
        getattr(model, call)(image, tile=64, cancel=token)
    latency = time.monotonic() - when[0]
    timer.join()
    assert token.cancelled
    assert latency < 1.0, "cancelled %.2f s after cancel()" % latency
    # the model is unharmed and the next call runs
    assert model.predict(image[:64, :64]).shape == (1, 64, 64)


def test_cancelled_token_refuses_at_once(model):
    token = unet.CancelToken()
    token.cancel()
    start = time.monotonic()
    for call in (model.predict, model.segment):
        with pytest.raises(unet.Cancelled, match="before the call"):
            call(big_image(2048), cancel=token)
    assert time.monotonic() - start < 1.0
    with pytest.raises(TypeError, match="CancelToken"):
        model.predict(big_image(64), cancel=True)


def test_trainer_cancel_token():
    images = np.random.default_rng(1).random((4, 64, 64), dtype=np.float32)
    labels = (images > 0.5).astype(np.uint32)
    with unet.Model.create({"depth": 2, "base_features": 4, "final_activation": "sigmoid"}) \
            as m, Trainer(m, steps=100000, patch=32, batch=1, threads=1) as t:
        for image, label in zip(images, labels):
            t.add(image, label)
        token = unet.CancelToken()
        when, timer = cancel_later(token, 0.5)
        with pytest.raises(unet.Cancelled):
            t.train(cancel=token)
        timer.join()
        assert time.monotonic() - when[0] < 1.0
        done = t.progress[0]
        assert 0 < done < 100000
        # The token cancelled that call only: the trainer continues where it stopped.
        t.step(2)
        assert t.progress[0] == done + 2
        # Trainer.cancel() stays until reset_cancel().
        t.cancel()
        with pytest.raises(unet.Cancelled):
            t.step(1)
        t.reset_cancel()
        t.step(1)
        assert t.progress[0] == done + 3


# ---- handles in use (issue 16, item 8) -----------------------------------------------------

def test_close_during_predict_raises_in_use():
    m = unet.Model.create({"depth": 3, "base_features": 8}, seed=2)
    image = big_image(1024)
    want = m.predict(image[:128, :128])
    outcome = {}

    def run():
        outcome["out"] = m.predict(image, tile=128)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 10
    while not m.in_use and time.monotonic() < deadline:
        time.sleep(0.001)
    assert m.in_use
    with pytest.raises(unet.InUseError, match="in use"):
        m.close()
    with pytest.raises(RuntimeError):  # InUseError is a RuntimeError too
        m.close()
    worker.join()
    # the call finished on a live model, with the same numbers as before
    assert outcome["out"].shape == (1, 1024, 1024)
    assert np.array_equal(m.predict(image[:128, :128]), want)
    assert not m.in_use
    m.close()
    with pytest.raises(unet.UnetError, match="closed"):
        m.predict(image)


def test_sessions_and_trainers_hold_the_model():
    m = unet.Model.create({"depth": 2, "base_features": 4, "final_activation": "sigmoid"})
    session = m.click_session(big_image(64))
    with pytest.raises(unet.InUseError):
        m.close()
    session.close()
    trainer = Trainer(m, steps=1)
    with pytest.raises(unet.InUseError):
        m.close()
    trainer.close()
    trainer.close()  # twice: the model is let go once
    m.close()
    with pytest.raises(unet.UnetError, match="closed"):
        m.click_session(big_image(64))


def test_garbage_collected_session_frees_its_model():
    m = unet.Model.create({"depth": 2, "base_features": 4, "final_activation": "sigmoid"})
    session = m.click_session(big_image(64))
    freed = []

    def recording(obj, name):
        free = obj._free
        obj._free = lambda handle: (freed.append(name), free(handle))

    recording(m, "model")
    recording(session, "session")
    # a cycle: finalized in either order, the C session goes first, then its model
    session.cycle, m.cycle = m, session
    del session, m
    gc.collect()
    assert freed == ["session", "model"]


# ---- Ctrl-C (issue 16, item 14) ------------------------------------------------------------

SIGINT_CHILD = textwrap.dedent("""
    import json, os, signal, sys, threading, time
    import numpy as np
    import unet
    m = unet.Model.create({"depth": 3, "base_features": 8}, seed=1)
    image = np.random.default_rng(0).integers(0, 1000, (4096, 4096)).astype(np.uint16)
    sent = []
    def interrupt():
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)
    threading.Timer(1.0, interrupt).start()
    progress = (lambda f: False) if sys.argv[1] == "progress" else None
    start = time.monotonic()
    try:
        m.predict(image, tile=256, progress=progress)
        outcome = "finished"
    except KeyboardInterrupt:
        outcome = "KeyboardInterrupt"
    except unet.Cancelled:
        outcome = "Cancelled"
    end = time.monotonic()
    # the handler is restored: a later Ctrl-C is Python's own again
    restored = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    print(json.dumps({"outcome": outcome, "latency": end - sent[0] if sent else None,
                      "restored": restored}))
""")


@pytest.mark.parametrize("progress", ["none", "progress"])
def test_ctrl_c_cancels_and_raises_keyboard_interrupt(progress):
    env = dict(os.environ, PYTHONPATH=BINDINGS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run([sys.executable, "-c", SIGINT_CHILD, progress], capture_output=True,
                         text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["outcome"] == "KeyboardInterrupt", result
    assert result["latency"] < 2.0, result
    assert result["restored"]
    assert "Exception ignored" not in run.stderr, run.stderr


def test_ctrl_c_off_the_main_thread_is_left_alone(model):
    # Other threads cannot install handlers: calls there run directly and still work.
    out = {}
    worker = threading.Thread(target=lambda: out.setdefault("p", model.predict(big_image(64))))
    worker.start()
    worker.join()
    assert out["p"].shape == (1, 64, 64)


# ---- colour and empty arrays (issue 16, item 14) -------------------------------------------

def colour(seed, alpha=False):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (48, 56, 4 if alpha else 3)).astype(np.uint8)


def luminance(rgb):
    """The channel rule as the library documents it: 0.299 R + 0.587 G + 0.114 B in double,
    rounded to float (R itself where R, G, B are equal)."""
    r, g, b = (rgb[..., k].astype(np.float64) for k in range(3))
    return (0.299 * r + 0.587 * g + 0.114 * b).astype(np.float32)


def test_channel_rule_is_the_librarys():
    rgb = colour(4)
    rgb[:8] = rgb[:8, :, :1]  # grey rows: R = G = B
    got = unet.channel_rule(np.moveaxis(rgb, -1, 0), 1)
    assert got.shape == (1, 48, 56) and got.dtype == np.float32
    np.testing.assert_array_equal(got[0], luminance(rgb))
    np.testing.assert_array_equal(got[0, :8], rgb[:8, :, 0])  # exactly the channel
    np.testing.assert_array_equal(unet.channel_rule(np.moveaxis(rgb, -1, 0), 1, channel=2)[0],
                                  rgb[..., 2])
    with pytest.raises(unet.ShapeError, match="channel option"):
        unet.channel_rule(np.zeros((2, 8, 8), np.uint8), 1)
    with pytest.raises(unet.ShapeError, match="channel 3 does not exist"):
        unet.channel_rule(np.zeros((3, 8, 8), np.uint8), 1, channel=3)


def test_colour_reads_as_yxc_by_the_channel_rule(model):
    rgb = colour(1)
    out = model.predict(rgb)
    assert out.shape == (48, 56, 1)  # output channels where C was
    np.testing.assert_array_equal(out[..., 0], model.predict(luminance(rgb))[0])
    # alpha is ignored
    rgba = np.concatenate([rgb, colour(2)[..., :1]], axis=-1)
    np.testing.assert_array_equal(model.predict(rgba), out)
    # equal channels: that channel as it is (uint8, not a float luminance)
    grey = np.repeat(rgb[..., :1], 3, axis=-1)
    np.testing.assert_array_equal(model.predict(grey)[..., 0], model.predict(grey[..., 0])[0])
    # segment reads colour the same way
    np.testing.assert_array_equal(model.segment(rgb), model.segment(luminance(rgb)))
    assert model.click_session(rgb).click(10, 10).mask.ndim == 2


def test_colour_for_a_three_channel_model():
    with unet.Model.create({"depth": 2, "base_features": 4, "in_channels": 3}) as m:
        rgb = colour(3)
        chw = np.moveaxis(rgb, -1, 0)
        np.testing.assert_array_equal(m.predict(rgb)[..., 0], m.predict(chw)[0])
        rgba = np.concatenate([rgb, rgb[..., :1]], axis=-1)
        np.testing.assert_array_equal(m.predict(rgba), m.predict(rgb))
        # (3, 48, 3): channels first or colour last? Both fit: refused, naming them.
        with pytest.raises(unet.ShapeError, match="ambiguous.*YXC.*CYX"):
            m.predict(np.zeros((3, 48, 3), np.uint8))
        assert m.predict(np.zeros((3, 48, 3), np.uint8), axes="CYX").shape == (1, 48, 3)
        # a grey stack has no reading for a three-channel model
        with pytest.raises(unet.ShapeError, match="3 input channels"):
            m.predict(np.zeros((5, 32, 32), np.float32))


def test_ambiguous_one_channel_shape(model):
    # (1, 40, 3): one 40x3 channel, or a 1x40 colour image
    with pytest.raises(unet.ShapeError, match="ambiguous"):
        model.predict(np.zeros((1, 40, 3), np.float32))
    with pytest.raises(unet.ShapeError, match="ambiguous"):
        model.segment(np.zeros((1, 40, 3), np.float32))


@pytest.mark.parametrize("shape", [(0,), (0, 0), (0, 32), (32, 0), (0, 32, 3), (1, 0, 16)])
def test_empty_arrays_raise_shape_error(model, shape):
    empty = np.zeros(shape, np.float32)
    with pytest.raises(unet.ShapeError, match="empty|axes|takes"):
        model.predict(empty)
    with pytest.raises(unet.ShapeError):
        model.segment(empty)
    with pytest.raises(unet.ShapeError):
        model.click_session(empty)
