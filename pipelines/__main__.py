"""``python -m mambaseq.pipelines`` is the ``mambaseq`` command."""
import sys

from .cli import main

sys.exit(main())
