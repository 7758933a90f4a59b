import sys

from keyring_idx.cli import main

sys.exit(main())
