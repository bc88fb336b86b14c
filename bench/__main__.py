"""``python -m bench`` (``make bench``): time the helpers MLP against its peers.

See :mod:`bench.speed` for what is measured and how the flops are counted.
"""
from bench.speed import main

if __name__ == "__main__":
    main()
