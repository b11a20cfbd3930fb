"""Data modules and their configs: DNA windows, species windows, audio tokens, the synthetic
tasks; training batches indexed by the optimiser step, and variable-length (packed) batches."""
