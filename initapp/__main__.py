import sys

from initapp.main import main

sys.exit(main())
