"""``python -m scratch_rnn.cli``: the ``scratch-rnn`` command."""
import sys

from . import main

sys.exit(main())
