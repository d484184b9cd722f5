import sys

from qa.serving.cli import main

sys.exit(main())
