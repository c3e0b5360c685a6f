import sys
from wasi_test_runner import __main__

if __name__ == "__main__":
    sys.exit(__main__.main())
