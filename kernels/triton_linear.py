"""The linear layers of a decoding step in Triton: y = x @ W^T (+ bias) for a few rows.

A decoding step multiplies a handful of rows (the batch) by each weight matrix once, so its
time is the time to read the weights. cuBLAS picks split-K kernels for these shapes (a
second, reducing kernel per product) and casts 16-bit inputs to float32 itself when asked
for a float32 result; here one program owns ``BLOCK_N`` output columns for every row, so each
weight element is read once, by one program, with no reduction pass, and 16-bit inputs
multiply on tensor cores into float32 sums. ``kernels.ops.decode_linear`` sends it the
shapes where it was measured faster (``step_reference.STREAMING_MAX_ROWS``);
``decode_linear_split_triton`` serves narrow, deep products (the 1.4B LM's x_proj: 160 columns
of 4,096-deep rows), where one program per column tile leaves most of the GPU idle: programs
own a column tile and a slice of the depth each, write float32 partial sums, and a second
kernel sums the slices in one fixed reduction tree (the same bits every run, unlike atomic
adds);
``kernels.triton_step`` uses it for Δ's float32 product from its 16-bit code, 3-4x faster
than cuBLAS's cast-then-float32 product.

Contract of ``step_reference.decode_linear_ref``: x (rows, K) with any strides, weight (N, K)
of x's dtype with contiguous rows, bias (N,) or None; y (rows, N) in ``out_dtype`` (default
x's dtype), accumulated in float32 (float64 for float64 inputs). Float32 inputs multiply in
IEEE float32 (no TF32), as ``F.linear`` does by default.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .backend import triton_interpreted
from .triton_pdl import pdl_options, wait_for_previous_kernel

# Rows a program multiplies at most; more rows take more programs along the rows.
MAX_BLOCK_M = 128
# The split product's tiles and how many programs it aims for (about one per SM of an H100).
SPLIT_BLOCK_N, SPLIT_BLOCK_K, SPLIT_PROGRAMS = 32, 64, 128


def _configs() -> list[triton.Config]:
    """Column tiles (BLOCK_N) x depth tiles (BLOCK_K): narrow tiles give the small matrices
    enough programs to fill the GPU, deep ones keep more bytes in flight."""
    if triton_interpreted():
        return [triton.Config({"BLOCK_N": 16, "BLOCK_K": 32})]
    return [triton.Config({"BLOCK_N": n, "BLOCK_K": k}, num_warps=4, num_stages=s)
            for n, k, s in ((16, 256, 4), (32, 128, 4), (32, 256, 3), (64, 128, 4),
                            (64, 64, 5), (128, 64, 4))]


def dot_precision(*tensors: torch.Tensor) -> int:
    """How ``tile_product`` multiplies these tensors: 2, in float64 (any of them float64); 0, on
    tensor cores (all of one 16-bit dtype, on a GPU); else 1, as float32 with IEEE products
    (no TF32). Triton 3.6's interpreter multiplies the bit patterns of bf16 tl.dot inputs
    (triton-lang/triton#11584, "not supported yet"): 1 there."""
    dtypes = {t.dtype for t in tensors}
    if torch.float64 in dtypes:
        return 2
    sixteen = len(dtypes) == 1 and dtypes <= {torch.bfloat16, torch.float16}
    return 0 if sixteen and not triton_interpreted() else 1


@triton.jit
def tile_product(x_ptr, w_ptr, rows, cols, row_ok, col_ok, K, sxm, sxk, swn,
                 BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
                 PRECISION: tl.constexpr):
    """x[rows, :K] @ w[cols, :K]^T as a (BLOCK_M, BLOCK_N) tile of float32 sums (float64 when
    PRECISION is 2), BLOCK_K deep at a time; x's strides (sxm, sxk), w's rows (stride swn)
    contiguous; rows, columns and depths out of range read as 0. PRECISION from
    ``dot_precision``: 0 multiplies the 16-bit tiles on tensor cores, else they are cast to
    the sums' dtype and multiplied in IEEE arithmetic."""
    acc = tl.zeros((BLOCK_M, BLOCK_N), tl.float64 if PRECISION == 2 else tl.float32)
    depth = tl.arange(0, BLOCK_K)
    for k0 in range(0, K, BLOCK_K):
        k = k0 + depth
        k_ok = k < K
        a = tl.load(x_ptr + rows[:, None] * sxm + k[None, :] * sxk,
                    mask=row_ok[:, None] & k_ok[None, :], other=0.0)
        w = tl.load(w_ptr + cols[:, None] * swn + k[None, :],
                    mask=col_ok[:, None] & k_ok[None, :], other=0.0)
        if PRECISION == 0:
            acc += tl.dot(a, tl.trans(w))
        else:
            acc += tl.dot(a.to(acc.dtype), tl.trans(w.to(acc.dtype)), input_precision="ieee")
    return acc


def _fitting(configs: list[triton.Config], named_args: dict, **kwargs) -> list[triton.Config]:
    """The configs whose pipelined tiles, stages x (BLOCK_M + BLOCK_N) x BLOCK_K elements,
    fit the GPU's shared memory (3 x (128 + 32) x 256 bf16 = 240 KiB does not fit an H100's
    227 KiB); the smallest one if none does."""
    x = named_args["x_ptr"]
    limit = torch.cuda.get_device_properties(x.device).shared_memory_per_block_optin
    need = {c: c.num_stages * (kwargs["BLOCK_M"] + c.kwargs["BLOCK_N"]) * c.kwargs["BLOCK_K"]
            * x.element_size() for c in configs}
    return [c for c in configs if need[c] <= limit] or [min(configs, key=need.get)]


@triton.autotune(configs=_configs(), key=["N", "K", "BLOCK_M", "PRECISION"],
                 prune_configs_by={"early_config_prune": _fitting})
@triton.jit
def _decode_linear_kernel(x_ptr, w_ptr, bias_ptr, y_ptr, M, N, K, sxm, sxk, swn, sym,
                          HAS_BIAS: tl.constexpr, PRECISION: tl.constexpr, PDL: tl.constexpr,
                          BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    """PRECISION: see ``dot_precision``; PDL: see ``triton_pdl``."""
    wait_for_previous_kernel(PDL)
    rows = tl.program_id(1) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    row_ok, col_ok = rows < M, cols < N
    acc = tile_product(x_ptr, w_ptr, rows, cols, row_ok, col_ok, K, sxm, sxk, swn,
                       BLOCK_M, BLOCK_N, BLOCK_K, PRECISION)
    if HAS_BIAS:
        acc += tl.load(bias_ptr + cols, mask=col_ok, other=0.0).to(acc.dtype)[None, :]
    tl.store(y_ptr + rows[:, None] * sym + cols[None, :], acc.to(y_ptr.dtype.element_ty),
             mask=row_ok[:, None] & col_ok[None, :])


@triton.jit
def _partial_product_kernel(x_ptr, w_ptr, part_ptr, M, N, K, slice_depth, sxm, sxk, swn, sps,
                            spm, PRECISION: tl.constexpr, PDL: tl.constexpr,
                            BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    """Program (column tile, depth slice, row tile): the slice's product into part[slice]."""
    wait_for_previous_kernel(PDL)
    cols = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    k0 = tl.program_id(1) * slice_depth
    rows = tl.program_id(2) * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok, col_ok = rows < M, cols < N
    acc = tile_product(x_ptr + k0 * sxk, w_ptr + k0, rows, cols, row_ok, col_ok,
                       tl.minimum(slice_depth, K - k0), sxm, sxk, swn,
                       BLOCK_M, BLOCK_N, BLOCK_K, PRECISION)
    tl.store(part_ptr + tl.program_id(1) * sps + rows[:, None] * spm + cols[None, :], acc,
             mask=row_ok[:, None] & col_ok[None, :])


@triton.jit
def _sum_slices_kernel(part_ptr, bias_ptr, y_ptr, M, N, slices, sps, spm, sym,
                       HAS_BIAS: tl.constexpr, PDL: tl.constexpr, SLICES: tl.constexpr,
                       BLOCK: tl.constexpr):
    """y = the sum of the slices' partial sums (+ bias), BLOCK outputs a program: all
    SLICES (>= slices) loads at once, then one reduction tree, the same for every run."""
    wait_for_previous_kernel(PDL)
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    ok = offs < M * N
    row, col = offs // N, offs % N
    s = tl.arange(0, SLICES)[:, None]
    tiles = tl.load(part_ptr + s * sps + (row * spm + col)[None, :],
                    mask=(s < slices) & ok[None, :], other=0.0)
    acc = tl.sum(tiles, axis=0)
    if HAS_BIAS:
        acc += tl.load(bias_ptr + col, mask=ok, other=0.0).to(acc.dtype)
    tl.store(y_ptr + row * sym + col, acc.to(y_ptr.dtype.element_ty), mask=ok)


def _checked_weight(x: torch.Tensor, weight: torch.Tensor,
                    bias: torch.Tensor | None) -> torch.Tensor:
    """weight with contiguous rows, after checking that x, weight and bias fit."""
    if (x.dim() != 2 or weight.dim() != 2 or weight.shape[1] != x.shape[-1]
            or weight.dtype != x.dtype or (bias is not None and bias.shape != (weight.shape[0],))):
        raise ValueError(f"decode_linear: x {tuple(x.shape)} {x.dtype} does not fit weight "
                         f"{tuple(weight.shape)} {weight.dtype}"
                         + ("" if bias is None else f" and bias {tuple(bias.shape)}"))
    return weight if weight.stride(1) == 1 else weight.contiguous()


def decode_linear_split_triton(x: torch.Tensor, weight: torch.Tensor,
                               bias: torch.Tensor | None = None,
                               out_dtype: torch.dtype | None = None) -> torch.Tensor:
    """``decode_linear_triton``'s contract, split along the depth: about SPLIT_PROGRAMS
    programs, each a SPLIT_BLOCK_N-column tile of a depth slice (a multiple of SPLIT_BLOCK_K),
    write float32 (float64) partial sums (slices, rows, N); a second kernel sums them (one
    fixed reduction tree: the same bits every run) and casts to ``out_dtype``."""
    weight = _checked_weight(x, weight, bias)
    rows, depth = x.shape
    cols = weight.shape[0]
    precision = dot_precision(x, weight)
    col_tiles = triton.cdiv(cols, SPLIT_BLOCK_N)
    wanted = max(1, min(SPLIT_PROGRAMS // col_tiles, triton.cdiv(depth, SPLIT_BLOCK_K)))
    slice_depth = triton.cdiv(triton.cdiv(depth, wanted), SPLIT_BLOCK_K) * SPLIT_BLOCK_K
    slices = triton.cdiv(depth, slice_depth)
    part = torch.empty(slices, rows, cols, device=x.device,
                       dtype=torch.float64 if precision == 2 else torch.float32)
    out = torch.empty(rows, cols, device=x.device, dtype=out_dtype or x.dtype)
    block_m = max(16, triton.next_power_of_2(min(rows, MAX_BLOCK_M)))
    pdl = pdl_options(x)
    _partial_product_kernel[(col_tiles, slices, triton.cdiv(rows, block_m))](
        x, weight, part, rows, cols, depth, slice_depth, x.stride(0), x.stride(1),
        weight.stride(0), part.stride(0), part.stride(1), PRECISION=precision,
        BLOCK_M=block_m, BLOCK_N=SPLIT_BLOCK_N, BLOCK_K=SPLIT_BLOCK_K, num_warps=4,
        num_stages=3, **pdl)
    slices_pow2 = triton.next_power_of_2(slices)
    block = max(16, 4096 // slices_pow2)          # a program's tile: about 4096 partial sums
    _sum_slices_kernel[(triton.cdiv(rows * cols, block),)](
        part, bias, out, rows, cols, slices, part.stride(0), part.stride(1), out.stride(0),
        HAS_BIAS=bias is not None, SLICES=slices_pow2, BLOCK=block, num_warps=4, **pdl)
    return out


def decode_linear_triton(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                         out_dtype: torch.dtype | None = None) -> torch.Tensor:
    """Triton ``decode_linear_ref``: x (rows, K), weight (N, K) of x's dtype, bias (N,) or
    None -> (rows, N) in ``out_dtype`` (x's dtype when None)."""
    weight = _checked_weight(x, weight, bias)
    rows, depth = x.shape
    out = torch.empty(rows, weight.shape[0], device=x.device, dtype=out_dtype or x.dtype)
    block_m = max(16, triton.next_power_of_2(min(rows, MAX_BLOCK_M)))
    grid = lambda meta: (triton.cdiv(weight.shape[0], meta["BLOCK_N"]),  # noqa: E731
                         triton.cdiv(rows, block_m))
    _decode_linear_kernel[grid](x, weight, bias, out, rows, weight.shape[0], depth,
                                x.stride(0), x.stride(1), weight.stride(0), out.stride(0),
                                HAS_BIAS=bias is not None, PRECISION=dot_precision(x, weight),
                                BLOCK_M=block_m, **pdl_options(x))
    return out
