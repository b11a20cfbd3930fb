"""kernels.scan_stash: a replay hands the recorded block scans back in order and refuses one
that is out of step with its recording."""
import pytest
import torch

from mambaseq.kernels.scan_stash import ScanStash, active_stash, stashing


def entry(batch: int, dim: int, length: int, chunks: int, state: int = 4) -> tuple:
    return (torch.zeros(batch, dim, length), torch.zeros(batch, dim, state),
            torch.zeros(batch, chunks, dim, state))


def test_replay_hands_back_in_order_and_again():
    recording = ScanStash()
    first, second = entry(1, 8, 16, 1), entry(2, 8, 40, 3)
    recording.put(*first)
    recording.put(*second)
    assert len(recording.tensors()) == 6
    for _ in range(2):          # a second backward (retain_graph) replays from the start
        stash = ScanStash.replaying_from(recording.tensors())
        assert stash.take(first[0].shape, tuple(first[2].shape))[2] is first[2]
        assert stash.take(second[0].shape, tuple(second[2].shape))[2] is second[2]


def test_replay_out_of_step_raises():
    stash = ScanStash.replaying_from(entry(1, 8, 16, 1))
    with pytest.raises(RuntimeError, match=r"block scan 0 .* \(1, 8, 32\)"):
        stash.take(torch.Size((1, 8, 32)), (1, 1, 8, 4))
    stash.take(torch.Size((1, 8, 16)), (1, 1, 8, 4))
    with pytest.raises(RuntimeError, match="more block scans than the recorded forward"):
        stash.take(torch.Size((1, 8, 16)), (1, 1, 8, 4))


def test_stashing_is_scoped():
    assert active_stash() is None
    outer, inner = ScanStash(), ScanStash()
    with stashing(outer):
        with stashing(inner):
            assert active_stash() is inner
        assert active_stash() is outer
    assert active_stash() is None
