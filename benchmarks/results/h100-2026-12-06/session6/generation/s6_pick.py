"""Print each variant's 1.4B batch-64 bf16 Mamba ms/token; the last line is the fastest name."""
import csv, sys
best = None
for name in sys.argv[1:]:
    try:
        rows = list(csv.DictReader(open(f"{name}/generation.csv")))
    except OSError:
        print(f"{name}: no csv"); continue
    ms = [float(r["ms_per_token"]) for r in rows if r["section"] == "throughput"
          and r["model"] == "mamba" and r["state"] == "bfloat16" and r["batch"] == "64"]
    if ms:
        print(f"{name}: {ms[0]:.3f} ms")
        if best is None or ms[0] < best[1]:
            best = (name, ms[0])
print(best[0].rsplit("/gen_", 1)[-1] if best else "main")
