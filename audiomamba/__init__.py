"""Raw audio (mu-law waveforms, SC09, YouTubeMix, SaShiMi-style backbone): see issue 5.
Nothing here yet; the package exists so the layout and its import rules hold from day one."""
