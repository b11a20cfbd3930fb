"""DNA: tokenizer, FASTA access through pyfaidx, windows for language modelling."""
from .fasta import FastaError, open_fasta
from .tokenizer import DNATokenizer, DNATokenizerError
from .windows import FastaWindows, RandomWindows, Region, split_records, tiled_windows

__all__ = ["DNATokenizer", "DNATokenizerError", "FastaError", "open_fasta", "Region",
           "split_records", "RandomWindows", "tiled_windows", "FastaWindows"]
