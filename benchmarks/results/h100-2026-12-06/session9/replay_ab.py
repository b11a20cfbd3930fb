"""Issue 14, session 9: the mixer's recomputation with the block scans replayed
(``kernels.scan_stash``) against running their forward again, in one process, rounds
alternating: training tokens/s and peak GiB of benchmarks/training.py's presets, ours only.

    PYTHONPATH=. python benchmarks/results/h100-2026-12-06/session9/replay_ab.py [ROUNDS [PRESET ...]]
"""
import sys

from benchmarks import training
from mambaseq.kernels import triton_block_scan

replaying = triton_block_scan.active_stash
shapes = [training.Shape("lm-130m", 768, 24, 50277, 2048, 8),
          training.Shape("dna-1p4m", 128, 12, 16, 1024, 1024)]
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
shapes = [s for s in shapes if len(sys.argv) < 3 or s.name in sys.argv[2:]]
print("| preset | round | scan forward in the recomputation | M tokens/s | peak GiB |")
print("|---|---|---|---|---|")
for shape in shapes:
    for r in range(rounds):
        for label, stash in (("run again", lambda: None), ("replayed", replaying)):
            triton_block_scan.active_stash = stash
            res = training.measure("ours", lambda: training.our_model(shape, False), shape, 3,
                                   "cuda", 1)
            print(f"| {shape.name} | {r} | {label} | {res.tokens_per_s / 1e6:.4f} | "
                  f"{res.peak_gib:.2f} | {res.note}", flush=True)
