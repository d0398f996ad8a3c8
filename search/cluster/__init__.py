"""Ray for one search: started here or joined (``--address``), and what a joined cluster's
autoscaler can add for trials that wait for nodes (GPU nodes that are not there yet), read
from the launcher's config and a table of the EC2 instance types ``cluster.yaml`` uses; and
``cluster.yaml`` checked offline as ``ray up`` would check it (``_ray_launcher``)."""

from search.cluster._ray_cluster import (
    ClusterError,
    NodeWaitTimeout,
    RayCluster,
    shutdown_ray,
    start_ray,
    wait_for_first_trial,
)

__all__ = [
    "ClusterError",
    "NodeWaitTimeout",
    "RayCluster",
    "shutdown_ray",
    "start_ray",
    "wait_for_first_trial",
]
