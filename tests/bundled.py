"""Paths the tests share: the repository, and the data and configs it ships."""
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DNA_FASTA = REPO / "biomamba" / "data" / "hsap_chr22_200kb.fa"    # 200 kb of human chr22
APES_DEMO = REPO / "biomamba" / "data" / "great_apes_demo"         # train/ and val/ FASTA
DNA_DEMO_CONFIG = REPO / "configs" / "dna" / "demo.yaml"
