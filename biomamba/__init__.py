"""DNA: tokenizer, FASTA/BED access through pyfaidx, windows for language modelling and
species classification, reverse-complement handling."""
from .bed import BedError, bed_regions, read_bed
from .fasta import FastaCache, FastaError, open_fasta
from .species import SpeciesSplit, load_species_split, species_files, species_label
from .tokenizer import DNATokenizer, DNATokenizerError
from .windows import (FastaWindows, LabelledWindows, NFilter, RandomWindows, Region, Window,
                      WindowReader, sliding_windows, split_records, tiled_windows)

__all__ = ["DNATokenizer", "DNATokenizerError", "FastaError", "FastaCache", "open_fasta",
           "BedError", "read_bed", "bed_regions", "Region", "Window", "split_records",
           "RandomWindows", "tiled_windows", "sliding_windows", "NFilter", "WindowReader",
           "FastaWindows", "LabelledWindows", "SpeciesSplit", "load_species_split",
           "species_files", "species_label"]
