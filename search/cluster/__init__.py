"""Ray for one search: started here or joined (``--address``), and what a joined cluster's
autoscaler can add for trials that wait for nodes (GPU nodes that are not there yet). The
table of the EC2 instance types ``cluster.yaml`` uses stands in for EC2's answer offline."""

from search.cluster._autoscaler import EC2_INSTANCE_TYPES
from search.cluster._ray_cluster import (
    WORKER_ENV,
    ClusterError,
    NodeWaitTimeout,
    RayCluster,
    shutdown_ray,
    start_ray,
    wait_for_first_trial,
)

__all__ = [
    "EC2_INSTANCE_TYPES",
    "WORKER_ENV",
    "ClusterError",
    "NodeWaitTimeout",
    "RayCluster",
    "shutdown_ray",
    "start_ray",
    "wait_for_first_trial",
]
