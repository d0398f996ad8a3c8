"""``python -m mnist_models.check_device [--gpu]``: where this machine's Keras would train.

Prints the node, the Keras backend and the GPUs it lists. With ``--gpu`` (what a GPU node's
setup runs: ``cluster.yaml``'s GPU workers) it exits 1 with the one-line reason when the
backend lists no GPU, so a node that would train GPU trials on its CPU never joins the cluster.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from mnist_models._device import DeviceError, check_placement, placement
from mnist_models._training import configure_tensorflow, keras_backend


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mnist_models.check_device",
                                     description="Say where Keras trains on this machine.")
    parser.add_argument("--gpu", action="store_true",
                        help="fail (exit 1) unless the Keras backend lists a GPU (a GPU node's setup check)")
    args = parser.parse_args(argv)
    configure_tensorflow(threads=1, use_gpu=args.gpu)
    where = placement(keras_backend(), gpu_share=1.0 if args.gpu else 0.0)
    seen = ", ".join(where.devices_seen) or "no GPU"
    print(f"node {where.node}: Keras backend {where.backend}; GPUs listed: {seen}")
    try:
        check_placement(where)
    except DeviceError as error:
        print(f"check_device: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
