"""cluster.yaml and cluster-constraints.txt: checked the way `ray up` checks them, offline,
plus the project's own rules.

`ray up` runs ``prepare_config`` (merge with the AWS defaults shipped in the ray package,
split setup commands, fill per-type worker limits), then fills in the ``resources`` a node
type leaves out from EC2's description of its instance type, then ``validate_config`` (the
JSON schema ``ray/autoscaler/ray-schema.json`` and the head-node rules), before it starts
anything. All three run here without network access, EC2's answer given by
``EC2_INSTANCE_TYPES`` (``launcher_prepared``).
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from ray.autoscaler._private.command_runner import SSHCommandRunner

from search.cluster._autoscaler import EC2_INSTANCE_TYPES
from search.cluster._ray_launcher import launcher_prepared

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_YAML = ROOT / "cluster.yaml"
CONSTRAINTS = ROOT / "cluster-constraints.txt"
REMOTE_CONSTRAINTS = "~/mnist-search/cluster-constraints.txt"
WORLD = {"0.0.0.0/0", "::/0"}


@pytest.fixture(scope="module")
def raw() -> dict:
    with CLUSTER_YAML.open() as f:
        return yaml.safe_load(f)


@pytest.fixture()
def config(raw) -> dict:
    """A fresh copy of the file as loaded, for each test to read or mutate."""
    return copy.deepcopy(raw)


def check(config: dict) -> dict:
    """What `ray up` does to the file before it contacts the cloud; raises if it is invalid."""
    return launcher_prepared(config)


def gpu_worker_types(config: dict) -> dict:
    """The worker types with a GPU, by their resources once `ray up` has filled them in."""
    prepared = check(config)
    head = prepared["head_node_type"]
    return {
        name: spec
        for name, spec in prepared["available_node_types"].items()
        if name != head and spec.get("resources", {}).get("GPU", 0) >= 1
    }


def pins(path: Path = CONSTRAINTS) -> dict[str, str]:
    """name -> version of every `name==version` line (names canonical)."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            found[canonicalize_name(name)] = pinned
    return found


def project_dependencies() -> list[Requirement]:
    import tomllib

    with (ROOT / "pyproject.toml").open("rb") as stream:
        return [Requirement(text) for text in tomllib.load(stream)["project"]["dependencies"]]


def pip_installs(commands: list[str]) -> list[str]:
    return [command for command in commands if "pip install" in command]


def world_open_ports(config: dict) -> set:
    """Ports that provider.security_group opens to any address (0.0.0.0/0 or ::/0)."""
    ports = set()
    for rule in config["provider"].get("security_group", {}).get("IpPermissions", []):
        ranges = {r.get("CidrIp") for r in rule.get("IpRanges", [])}
        ranges |= {r.get("CidrIpv6") for r in rule.get("Ipv6Ranges", [])}
        if not ranges & WORLD:
            continue
        low, high = rule.get("FromPort", -1), rule.get("ToPort", -1)
        if str(rule.get("IpProtocol", "")).lower() == "-1" or low == -1:
            ports.add("all")
        else:
            ports.update(range(int(low), int(high) + 1))
    return ports


def dashboard_hosts(commands: list[str]) -> list[str]:
    return re.findall(r"--dashboard-host[= ]+(\S+)", " ".join(commands))


# --- what `ray up` itself checks ---------------------------------------------------------


def test_ray_up_accepts_the_file(config):
    prepared = check(config)
    assert prepared["provider"]["type"] == "aws"
    assert prepared["provider"]["region"]
    assert prepared["head_node_type"] in prepared["available_node_types"]


def _float_gpu(c):
    c["available_node_types"]["gpu_worker"]["resources"] = {"CPU": 4, "GPU": 0.5}


def _no_head_type_entry(c):
    del c["available_node_types"][c["head_node_type"]]


def _head_type_unknown(c):
    c["head_node_type"] = "no-such-node-type"


def _instance_type_ec2_does_not_know(c):
    # `ray up` then cannot fill in the resources, and the schema asks for them.
    c["available_node_types"]["gpu_worker"]["node_config"]["InstanceType"] = "x9.imaginary"


def _unknown_top_level_key(c):
    c["max_worker"] = 4


def _min_workers_above_global_max(c):
    c["available_node_types"]["gpu_worker"]["min_workers"] = c["max_workers"] + 1


@pytest.mark.parametrize(
    "break_it, error, message",
    [
        (_float_gpu, jsonschema.ValidationError, "is not of type 'integer'"),
        (_no_head_type_entry, ValueError, "must be one of `available_node_types`"),
        (_head_type_unknown, ValueError, "must be one of `available_node_types`"),
        (_instance_type_ec2_does_not_know, jsonschema.ValidationError, "'resources' is a required property"),
        (_unknown_top_level_key, jsonschema.ValidationError, "'max_worker' was unexpected"),
        (_min_workers_above_global_max, ValueError, "smaller than the sum of `min_workers`"),
    ],
)
def test_ray_up_rejects_a_broken_copy(config, break_it, error, message):
    """The same check refuses configs that `ray up` would refuse: it is not a no-op."""
    break_it(config)
    with pytest.raises(error, match=re.escape(message)):
        check(config)


# --- the project's rules ------------------------------------------------------------------


def test_an_autoscaling_gpu_worker_type(config):
    prepared = check(config)
    workers = gpu_worker_types(config)
    assert workers, "no worker node type has a GPU"
    for name, spec in workers.items():
        assert isinstance(spec["resources"]["GPU"], int), name
        assert spec["min_workers"] == 0, f"{name}: min_workers must be 0 (no idle GPUs billed)"
    assert any(spec["max_workers"] >= 1 for spec in workers.values()), "no GPU type may start a node"
    assert prepared["max_workers"] >= 1


def test_the_autoscaler_may_start_every_gpu_worker_at_once(config):
    # Ray 2.60's autoscaler v2 launches at most max(1, ceil(upscaling_speed * running)) nodes
    # of a type at a time (ray/autoscaler/v2/instance_manager/reconciler.py, _compute_to_launch).
    largest = max(spec["max_workers"] for spec in gpu_worker_types(config).values())
    assert config["upscaling_speed"] >= min(largest, config["max_workers"])


def test_the_head_node_holds_no_cpu_for_trials(config):
    head = config["available_node_types"][config["head_node_type"]]
    assert head["resources"] == {"CPU": 0}, "the driver runs on the head: trials must not"
    prepared = check(config)["available_node_types"][config["head_node_type"]]["resources"]
    assert prepared.get("CPU") == 0 and not prepared.get("GPU"), prepared


def test_worker_resources_are_left_to_ray_and_filled_from_the_instance_type(config):
    head = config["head_node_type"]
    workers = {name: spec for name, spec in config["available_node_types"].items() if name != head}
    assert workers
    prepared = check(config)["available_node_types"]
    for name, spec in workers.items():
        assert "resources" not in spec, f"{name}: leave resources to Ray (it reads them from EC2)"
        instance = EC2_INSTANCE_TYPES[spec["node_config"]["InstanceType"]]
        filled = prepared[name]["resources"]
        assert filled["CPU"] == instance["VCpuInfo"]["DefaultVCpus"], name
        assert filled["GPU"] == instance["GpuInfo"]["Gpus"][0]["Count"], name
        assert filled["memory"] > 0, f"{name}: Ray fills in a worker's memory too"


def test_a_spot_gpu_worker_type_beside_the_on_demand_one(config):
    types = config["available_node_types"]
    spot, on_demand = types["gpu_spot_worker"], types["gpu_worker"]
    assert spot["node_config"]["InstanceMarketOptions"] == {"MarketType": "spot"}
    assert "InstanceMarketOptions" not in on_demand["node_config"]
    assert spot["node_config"]["InstanceType"] == on_demand["node_config"]["InstanceType"]
    assert spot["min_workers"] == 0
    assert "gpu_spot_worker" in gpu_worker_types(config)
    text = CLUSTER_YAML.read_text()
    assert re.search(r"\$[0-9.]+/h spot", text) and re.search(r"\$[0-9.]+/h on-demand", text), "prices in comments"
    # Switching to spot is two numbers: the spot type alone must pass Ray's checks.
    types["gpu_spot_worker"]["max_workers"], types["gpu_worker"]["max_workers"] = 4, 0
    assert check(config)["available_node_types"]["gpu_spot_worker"]["resources"]["GPU"] == 1


def test_workers_get_an_instance_profile_to_write_checkpoints_to_s3(config):
    # Trials checkpoint every epoch, and Tune's workers write checkpoints to the storage URI
    # (--results s3://...) themselves; the head's role comes from `ray up`.
    head = config["head_node_type"]
    for name, spec in config["available_node_types"].items():
        if name != head:
            assert spec["node_config"].get("IamInstanceProfile", {}).get("Name"), name


def test_every_node_sets_the_same_image(config):
    images = {spec["node_config"].get("ImageId") for spec in config["available_node_types"].values()}
    assert None not in images, "every node type needs an ImageId (Ray's default AMI is too old)"
    assert len(images) == 1, f"head and workers should share one AMI (one OS, one Python): {images}"


def test_no_docker(config):
    assert not check(config).get("docker"), "the Deep Learning AMI runs Ray directly, without Docker"


def test_file_mounts_copy_the_project_without_venv_results_or_git(config):
    mounts = config["file_mounts"]
    project = [remote for remote, local in mounts.items() if local.rstrip("/") in (".", "./")]
    assert project == ["~/mnist-search"], f"no file mount copies the project folder '.': {mounts}"
    excluded = config.get("rsync_exclude", [])
    for folder in ("/.venv", "/results", "/.git"):
        assert folder in excluded, f"{folder} would be copied to every node"


@pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync is not installed (ray up needs it)")
def test_the_copy_ray_up_makes_leaves_out_venv_results_and_git(config, tmp_path):
    """The rsync that `ray up` runs for the project mount (Ray's own exclude and filter
    arguments), run locally on a small stand-in of the project folder."""
    source, target = tmp_path / "project", tmp_path / "node"
    kept = ["search/run.py", "mnist_models/data/mnist.npz", "cluster-constraints.txt", "pyproject.toml"]
    left_out = [".venv/bin/python", "results/cnn-1/run.json", ".git/HEAD", "mnist_search.egg-info/PKG-INFO",
                "search/__pycache__/run.cpython-311.pyc", "tune.parquet"]
    for name in kept + left_out:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("x")
    shutil.copy(ROOT / ".gitignore", source / ".gitignore")
    options = {"rsync_exclude": config["rsync_exclude"], "rsync_filter": config["rsync_filter"]}
    arguments = SSHCommandRunner._create_rsync_filter_args(None, options)
    subprocess.run(["rsync", "-a", *arguments, f"{source}/", f"{target}/"], check=True)
    copied = {str(path.relative_to(target)) for path in target.rglob("*") if path.is_file()}
    assert set(kept) <= copied
    assert not copied & set(left_out), copied & set(left_out)


def test_setup_commands_install_the_project(config):
    prepared = check(config)
    project_dirs = [remote for remote, local in config["file_mounts"].items() if local.rstrip("/") in (".", "./")]
    for role in ("head_setup_commands", "worker_setup_commands"):
        installs = pip_installs(prepared[role])
        assert any(
            re.search(rf"(-e|--editable)\s+{re.escape(d)}(\s|$)", c) for c in installs for d in project_dirs
        ), f"{role} never pip-installs the project dir {project_dirs}: {installs}"
    assert any("boto3" in c for c in prepared["head_setup_commands"]), "the autoscaler on the head needs boto3"
    assert any("and-cuda" in c for c in prepared["worker_setup_commands"]), (
        "GPU workers need tensorflow[and-cuda] for TensorFlow to find CUDA"
    )


def test_a_gpu_worker_whose_backend_lists_no_gpu_fails_its_setup(config):
    """The last setup step of every worker is the project's device check with ``--gpu``, after
    the CUDA wheels are in: a worker that would train GPU trials on its CPU never joins
    (``tests/mnist_models/test_device.py`` shows the command failing on this CPU machine)."""
    prepared = check(config)
    assert all(node["resources"].get("GPU", 0) >= 1 for name, node in prepared["available_node_types"].items()
               if name != prepared["head_node_type"])
    commands = prepared["worker_setup_commands"]
    assert re.search(r"python -m mnist_models\.check_device --gpu$", commands[-1]), commands
    assert any("and-cuda" in c for c in commands[:-1])


# --- the versions every node installs ----------------------------------------------------


def test_every_install_on_every_node_uses_the_constraints(config):
    prepared = check(config)
    for role in ("head_setup_commands", "worker_setup_commands"):
        installs = pip_installs(prepared[role])
        assert installs, role
        for command in installs:
            assert re.search(rf"(-c|--constraints?)\s+{re.escape(REMOTE_CONSTRAINTS)}(\s|$)", command), (
                f"{role}: {command!r} installs without the constraints"
            )
    # The constraints travel with the project mount (the remote path lies inside it).
    assert REMOTE_CONSTRAINTS.startswith("~/mnist-search/") and config["file_mounts"]["~/mnist-search"] == "."
    # TensorFlow's CUDA extra on the workers comes unpinned in the command: the constraints pin it.
    cuda = [c for c in prepared["worker_setup_commands"] if "tensorflow[and-cuda]" in c]
    assert cuda and not re.search(r"tensorflow\[and-cuda\][=<>~!]", cuda[0]) and "tensorflow" in pins()


def test_uv_itself_is_pinned(config):
    installers = [c for c in config["setup_commands"] if "astral.sh/uv" in c or "pip install uv" in c]
    assert installers, "setup_commands install uv"
    for command in installers:
        assert re.search(r"astral\.sh/uv/\d+\.\d+\.\d+/install\.sh|pip install uv==\d", command), (
            f"uv is not pinned: {command!r}"
        )


def test_the_constraints_are_exact_pins_only():
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][0-9A-Za-z.+!-]*", line), line


def test_every_dependency_is_pinned_to_the_version_installed_here():
    pinned = pins()
    for requirement in project_dependencies():
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} is not pinned in {CONSTRAINTS.name}"
        installed = version(requirement.name)
        assert pinned[name] == installed, (
            f"{CONSTRAINTS.name} pins {requirement.name}=={pinned[name]}, but {installed} is installed here: "
            f"make them the same (the cluster must run what the tests ran)"
        )
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"pyproject.toml's {requirement} does not allow the pinned {pinned[name]}"
        )


def test_the_jax_extra_is_pinned_to_the_version_installed_here():
    import tomllib

    with (ROOT / "pyproject.toml").open("rb") as stream:
        extra = [Requirement(text) for text in tomllib.load(stream)["project"]["optional-dependencies"]["jax"]]
    pinned = pins()
    assert {canonicalize_name(requirement.name) for requirement in extra} == {"jax", "jaxlib"}
    for requirement in extra:
        name = canonicalize_name(requirement.name)
        assert name in pinned and requirement.specifier.contains(pinned[name]), requirement
        assert pinned[name] == version(requirement.name), f"{name} here differs from its pin"


def test_the_head_only_boto3_is_pinned_too():
    pinned = pins()
    assert "boto3" in pinned
    try:
        assert pinned["boto3"] == version("boto3"), "boto3 here differs from the head's pin"
    except PackageNotFoundError:
        pass  # boto3 comes with the test extras; without it only the pin is checked


# --- what the head's Ray is started with ---------------------------------------------------


def _ray_start(commands: list[str]) -> str:
    [start] = [c for c in commands if "ray start" in c]
    return start


def test_ray_job_stop_gives_the_search_time_to_save(config):
    match = re.search(r"\bRAY_JOB_STOP_WAIT_TIME_S=(\d+)\s+(\S+=\S+\s+)*ray start --head",
                      _ray_start(config["head_start_ray_commands"]))
    assert match, "the head's `ray start` must carry RAY_JOB_STOP_WAIT_TIME_S (read by the job supervisor there)"
    assert int(match.group(1)) >= 30, "Ray's default of 3 s kills the search before it has saved"


def test_every_node_starts_ray_with_token_authentication_and_the_same_token(config):
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        assert re.search(r"\bRAY_AUTH_MODE=token\s+(\S+=\S+\s+)*ray start", _ray_start(config[key])), key
    assert config["file_mounts"].get("~/.ray/auth_token") == "~/.ray/auth_token", (
        "every node needs the token of the machine that runs `ray up` and submits jobs"
    )


def test_start_commands_are_the_standard_ones(config):
    head = config["head_start_ray_commands"]
    workers = config["worker_start_ray_commands"]
    assert head[0] == "ray stop" and workers[0] == "ray stop"
    head_start = " ".join(head)
    assert "ray start --head" in head_start
    assert "--port=6379" in head_start
    assert "--autoscaling-config=~/ray_bootstrap_config.yaml" in head_start
    assert "--address=$RAY_HEAD_IP:6379" in " ".join(workers)


def test_dashboard_binds_to_loopback_only(config):
    assert dashboard_hosts(config["head_start_ray_commands"]) == ["127.0.0.1"]
    keys = ("setup_commands", "head_setup_commands", "worker_setup_commands",
            "head_start_ray_commands", "worker_start_ray_commands")
    everything = " ".join(command for key in keys for command in config.get(key, []))
    assert "0.0.0.0" not in everything


def test_dashboard_check_catches_a_public_dashboard(config):
    config["head_start_ray_commands"][-1] = config["head_start_ray_commands"][-1].replace(
        "--dashboard-host=127.0.0.1", "--dashboard-host=0.0.0.0"
    )
    assert dashboard_hosts(config["head_start_ray_commands"]) == ["0.0.0.0"]


def test_only_ssh_is_open_to_the_world(config):
    assert world_open_ports(config) <= {22}


@pytest.mark.parametrize(
    "rule, expected",
    [
        ({"FromPort": 8265, "ToPort": 8265, "IpProtocol": "tcp", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, {8265}),
        ({"FromPort": 10000, "ToPort": 10001, "IpProtocol": "tcp", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
         {10000, 10001}),
        ({"FromPort": -1, "ToPort": -1, "IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, {"all"}),
        ({"FromPort": 8265, "ToPort": 8265, "IpProtocol": "tcp", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}, set()),
    ],
)
def test_port_check_catches_an_open_port(config, rule, expected):
    config["provider"].setdefault("security_group", {}).setdefault("IpPermissions", []).append(rule)
    check(config)  # the schema allows it: only our own rule stops it
    assert world_open_ports(config) - {22} == expected
