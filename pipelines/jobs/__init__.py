"""One module per runnable job; each exposes ``add_arguments(parser)`` and ``run(args)``."""
