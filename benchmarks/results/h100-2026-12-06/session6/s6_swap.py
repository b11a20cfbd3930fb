"""benchmarks.training with main's conv module in place of this tree's."""
import importlib, os, runpy, sys
sys.path.insert(0, os.getcwd())
sys.modules["mambaseq.kernels.triton_conv"] = importlib.import_module("mambaseq.kernels.triton_conv_main")
sys.argv = ["training"] + sys.argv[1:]
runpy.run_module("benchmarks.training", run_name="__main__")
