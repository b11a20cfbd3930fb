"""kernels.triton_launch: a launcher goes through Triton once per key and then calls the kept
compiled kernel's launcher with every parameter in order, tensors as their data pointers;
anything that changes Triton's specialization (an int's value, a tensor's dtype or
alignment, a constexpr, the warps) or puts a host tensor among the arguments goes through
Triton again. A stand-in kernel records both paths, so this runs without a GPU; the GPU case
in test_triton_scan.py checks the direct launches' results."""
from types import SimpleNamespace

import pytest
import torch
from triton import knobs
from triton.knobs import HookChain

from mambaseq.kernels import triton_launch
from mambaseq.kernels.triton_launch import Launcher, _on_cuda as on_cuda


class StandInCompiled:
    """A compiled kernel: records its launcher's calls."""

    function, packed_metadata = "function", "metadata"

    def __init__(self):
        self.launches = []

    def run(self, *args):
        self.launches.append(args)


class StandInKernel:
    """A JITFunction of parameters (x_ptr, n, FLAG, BLOCK): records Triton's path."""

    __name__ = "stand_in_kernel"
    arg_names = ["x_ptr", "n", "FLAG", "BLOCK"]

    def __init__(self):
        self.calls, self.compiled, self.maxnregs = [], [], []

    def __getitem__(self, grid):
        def launch(*args, num_warps, maxnreg=None, **constexprs):
            self.calls.append((grid, args, num_warps, constexprs))
            self.maxnregs.append(maxnreg)
            self.compiled.append(StandInCompiled())
            return self.compiled[-1]
        return launch


@pytest.fixture
def kernel(monkeypatch):
    monkeypatch.setattr(triton_launch, "triton_interpreted", lambda: False)
    monkeypatch.setattr(triton_launch, "_on_cuda", lambda arg: True)     # CPU tensors here
    monkeypatch.setattr(triton_launch, "_is_cuda", lambda tensor: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    stream = SimpleNamespace(get_current_stream=lambda device: 77)
    monkeypatch.setattr(triton_launch, "driver", SimpleNamespace(active=stream))
    return StandInKernel()


def test_second_launch_calls_the_kept_kernel_with_every_parameter_in_order(kernel):
    launch = Launcher(kernel)
    x, y = torch.zeros(64), torch.ones(64)
    launch((3, 2), x, 64, num_warps=4, BLOCK=32, FLAG=True)
    launch((5,), y, 64, num_warps=4, BLOCK=32, FLAG=True)
    assert len(kernel.calls) == 1 and kernel.calls[0][1] == (x, 64)
    (args,) = kernel.compiled[0].launches
    assert args[:9] == (5, 1, 1, 77, "function", "metadata", None, None, None)
    # the tensor as its data pointer; FLAG before BLOCK, as declared
    assert args[9:] == (y.data_ptr(), 64, True, 32)


@pytest.mark.parametrize("first, second", [(0, 1), (1, 0)], ids=["tensor, int", "int, tensor"])
def test_tensors_and_other_arguments_keep_their_places(kernel, first, second):
    """The kept kernel's launcher gets each argument where it was given, a tensor as its data
    pointer, whichever order tensors and ints come in."""
    launch = Launcher(kernel)
    for x in (torch.zeros(64), torch.ones(64)):
        given = (x, 48)
        launch((1,), given[first], given[second], num_warps=4, FLAG=True, BLOCK=32)
    (args,) = kernel.compiled[0].launches
    want = (x.data_ptr(), 48)
    assert args[9:] == (want[first], want[second], True, 32)


@pytest.mark.parametrize("change", [
    dict(x=torch.zeros(65)[1:]),            # a pointer 4 bytes past 16-byte alignment
    dict(x=torch.zeros(64, dtype=torch.float64)),
    dict(n=48),                             # any other int value
    dict(num_warps=8),
    dict(maxnreg=128),
    dict(FLAG=False),
], ids=["misaligned", "dtype", "int", "warps", "register cap", "constexpr"])
def test_what_changes_the_specialization_goes_through_triton(kernel, change):
    launch = Launcher(kernel)
    for update in ({}, change):
        call = dict(x=torch.zeros(64), n=64, num_warps=4, FLAG=True, BLOCK=32) | update
        launch((1,), call.pop("x"), call.pop("n"), **call)
    assert len(kernel.calls) == 2 and not kernel.compiled[0].launches


def test_a_host_tensor_among_device_tensors_goes_through_triton(kernel, monkeypatch):
    """The kept kernel gets data pointers unchecked, so a call with a host tensor where a
    device tensor was (is_cuda False) takes Triton's path: its launcher refuses host memory
    with an error naming the argument."""
    host = torch.zeros(64)
    monkeypatch.setattr(triton_launch, "_is_cuda", lambda tensor: tensor is not host)
    launch = Launcher(kernel)
    for x in (torch.zeros(64), host):
        launch((1,), x, 64, num_warps=4, FLAG=True, BLOCK=32)
    assert len(kernel.calls) == 2 and not kernel.compiled[0].launches


@pytest.mark.parametrize("why", ["interpreter", "launch hook", "CPU tensor"])
def test_interpreter_launch_hooks_and_cpu_tensors_always_go_through_triton(kernel, monkeypatch,
                                                                           why):
    if why == "interpreter":
        monkeypatch.setattr(triton_launch, "triton_interpreted", lambda: True)
    elif why == "CPU tensor":   # gpu_test_variants.py's stand-in GPU intercepts Triton's path
        monkeypatch.setattr(triton_launch, "_on_cuda", on_cuda)
    else:       # a profiler's hook sees every launch
        monkeypatch.setattr(knobs.runtime, "launch_enter_hook", HookChain())
        knobs.runtime.launch_enter_hook.add(lambda metadata: None)
    launch = Launcher(kernel)
    for _ in range(2):
        launch((1,), torch.zeros(64), 64, num_warps=4, FLAG=True, BLOCK=32)
    assert len(kernel.calls) == 2 and not launch.compiled


def test_a_register_cap_reaches_triton_only_where_set(kernel):
    launch = Launcher(kernel)
    for cap in (0, 168):
        launch((1,), torch.zeros(64), 64, num_warps=4, maxnreg=cap, FLAG=True, BLOCK=32)
    assert kernel.maxnregs == [None, 168]
    assert all("maxnreg" not in constexprs for *_, constexprs in kernel.calls)


def test_constexprs_are_told_apart_by_name(kernel):
    """The same values under other names (another call site's keyword order) are another
    specialization."""
    launch = Launcher(kernel)
    launch((1,), torch.zeros(64), 64, num_warps=4, FLAG=1, BLOCK=32)
    launch((1,), torch.zeros(64), 64, num_warps=4, BLOCK=1, FLAG=32)
    assert len(kernel.calls) == 2 and not kernel.compiled[0].launches


def test_parameters_not_named_are_refused(kernel):
    with pytest.raises(TypeError, match=r"stand_in_kernel: pass parameters \['FLAG', 'BLOCK'\] "
                                        r"as keywords, got \['BLOCK'\]"):
        Launcher(kernel)((1,), torch.zeros(64), 64, num_warps=4, BLOCK=32)


@pytest.mark.parametrize("first, second", [(1, True), (1, 1.0), (64, torch.zeros(64))],
                         ids=["bool for int", "float for int", "tensor for int"])
def test_an_argument_of_another_type_is_another_specialization(kernel, first, second):
    """Equal values of other types (True == 1 == 1.0) and a tensor where an int was each take
    Triton's path again, as Triton specializes them apart."""
    launch = Launcher(kernel)
    for n in (first, second):
        launch((1,), torch.zeros(64), n, num_warps=4, FLAG=True, BLOCK=32)
    assert len(kernel.calls) == 2 and not kernel.compiled[0].launches


def test_one_misaligned_tensor_among_aligned_ones_is_another_specialization(kernel):
    """Alignment is told a tensor: the second tensor 4 bytes past 16-byte alignment, then the
    first, are three keys; each repeated launches the kept kernel."""
    launch = Launcher(kernel)
    aligned, misaligned = torch.zeros(64), torch.zeros(65)[1:]
    pairs = [(aligned, aligned), (aligned, misaligned), (misaligned, aligned)]
    for x, y in pairs * 2:
        launch((1,), x, y, num_warps=4, FLAG=True, BLOCK=32)
    assert len(kernel.calls) == 3
    assert [len(compiled.launches) for compiled in kernel.compiled] == [1, 1, 1]


class StandInCudaLauncher:
    """Triton 3.6's CudaLauncher: ``launch`` (its C launcher) and what its ``__call__`` reads
    before calling it; ``__call__`` records its own calls."""

    launch_cooperative_grid, launch_pdl = "cooperative", "pdl"

    def __init__(self, scratch: int):
        self.global_scratch_size, self.profile_scratch_size = scratch, 0
        self.calls, self.launches = [], []

    def __call__(self, *args):
        self.calls.append(args)

    def launch(self, *args):
        self.launches.append(args)


@pytest.mark.parametrize("scratch", [0, 128], ids=["no scratch", "global scratch"])
def test_a_kernel_without_scratch_is_launched_by_the_c_launcher(kernel, monkeypatch, scratch):
    """Where the kernel needs no scratch memory the kept kernel's C launcher is called
    directly, with what CudaLauncher.__call__ would pass it; else through that call, which
    allocates the scratch."""
    run = StandInCudaLauncher(scratch)
    monkeypatch.setattr(StandInCompiled, "run", run)
    launch = Launcher(kernel)
    for x in (torch.zeros(64), torch.ones(64)):
        launch((3,), x, 64, num_warps=4, FLAG=True, BLOCK=32)
    assert len(kernel.calls) == 1
    head, tail = (3, 1, 1, 77, "function"), (x.data_ptr(), 64, True, 32)
    if scratch:
        assert run.calls == [head + ("metadata", None, None, None) + tail] and not run.launches
    else:
        assert run.launches == [head + ("cooperative", "pdl", None, None, "metadata", None,
                                        None, None) + tail] and not run.calls
