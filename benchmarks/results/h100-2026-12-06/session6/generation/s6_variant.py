"""benchmarks.generation under a variant: VARIANT is '+'-joined patches of module constants.
  notrig:   triton_pdl.TRIGGER_MIN_ROWS = inf (wait only, as main and xproj-splitk)
  splitall: ops.STREAMING_MIN_COLS = 4096 (out_proj through the split kernel too)
  plain:    nothing patched"""
import os, runpy, sys
sys.path.insert(0, os.getcwd())   # benchmarks/ of the tree this runs in
variant, args = sys.argv[1], sys.argv[2:]
for patch in variant.split("+"):
    if patch == "notrig":
        import mambaseq.kernels.triton_pdl as pdl
        pdl.TRIGGER_MIN_ROWS = 1 << 40
    elif patch == "splitall":
        import mambaseq.kernels.ops as ops
        ops.STREAMING_MIN_COLS = 4096
    elif patch != "plain":
        raise SystemExit(f"unknown patch {patch!r}")
print(f"# variant {variant}", flush=True)
sys.argv = ["generation"] + args
runpy.run_module("benchmarks.generation", run_name="__main__")
