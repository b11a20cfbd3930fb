"""What the study jobs measure and write: accuracy at other lengths, peak memory, CSV,
markdown and PNG reports."""
