"""A configuration in words, at three lengths, for the terminal, the tables and the report."""

from __future__ import annotations

from typing import Any, Literal, Mapping

Detail = Literal["model", "short", "full"]


def describe(config: Mapping[str, Any], *, detail: Detail = "short") -> str:
    """``config`` in words:

    - ``model``: the architecture in a few characters, 'conv 32-64 bn aug', 'dense 512-256 relu';
    - ``short``: that and the training, 'conv 32-64 bn aug adam lr=0.001 cos b=128';
    - ``full``: every choice, as the report gives it.
    """
    if detail == "model":
        return _model(config)
    if detail == "short":
        schedule = " cos" if config.get("lr_schedule") == "cosine" else ""
        return (f"{_model(config)} {config.get('optimizer')} lr={_rate(config)}{schedule} "
                f"b={config.get('batch_size')}")
    if detail == "full":
        schedule = " cosine-decayed" if config.get("lr_schedule") == "cosine" else ""
        return (f"{_architecture(config)}; {config.get('optimizer')} lr {_rate(config)}{schedule}, "
                f"batch {config.get('batch_size')}, {config.get('epochs')} epoch(s)")
    raise ValueError(f"detail is {detail!r}, but must be 'model', 'short' or 'full'")


def _model(config: Mapping[str, Any]) -> str:
    family = config.get("family")
    if family == "cnn":
        convs = int(config.get("convs_per_block") or 1)
        repeat = f"x{convs}" if convs > 1 else ""
        filters = "-".join(f"{config.get(f'filters_{block}', '?')}{repeat}" for block in range(_count(config, "n_blocks")))
        flags = [flag for flag, key in (("sep", "separable"), ("bn", "batch_norm"), ("aug", "augment"))
                 if config.get(key)]
        head = {"gap": ["gap"], "conv1x1": ["1x1"]}.get(str(config.get("head", "flatten")), [])
        return " ".join(["conv", filters or "?", *head, *flags])
    if family == "dense":
        units = "-".join(str(config.get(f"units_{layer}", "?")) for layer in range(_count(config, "n_layers")))
        flags = [flag for flag, key in (("bn", "batch_norm"), ("aug", "augment")) if config.get(key)]
        return " ".join(["dense", units or "?", str(config.get("activation", "")), *flags]).strip()
    return "-"


def _architecture(config: Mapping[str, Any]) -> str:
    family = config.get("family")
    if family == "cnn":
        convs = ", ".join(f"{config.get(f'filters_{block}')}x{config.get(f'kernel_{block}')}"
                          for block in range(_count(config, "n_blocks")))
        head = {"gap": "global average pooling head", "conv1x1": "1x1-convolution head"}.get(
            str(config.get("head", "flatten")),
            f"dense {config.get('dense_units')} (dropout {float(config.get('dense_dropout', 0)):.2f})")
        per_block = int(config.get("convs_per_block") or 1)
        return (f"conv [{convs}]"
                + (f" {per_block} convolutions a block" if per_block > 1 else "")
                + f" padding {config.get('padding')}"
                + (", separable after the first" if config.get("separable") else "")
                + f", {config.get('pooling')} pooling"
                + (", batch norm" if config.get("batch_norm") else "")
                + f", dropout {float(config.get('dropout', 0)):.2f}, {head}"
                + (", augmentation" if config.get("augment") else ""))
    if family == "dense":
        layers = ", ".join(f"{config.get(f'units_{layer}')} (dropout {float(config.get(f'dropout_{layer}', 0)):.2f})"
                           for layer in range(_count(config, "n_layers")))
        return (f"dense [{layers}] {config.get('activation')}"
                + (", batch norm" if config.get("batch_norm") else "")
                + (", augmentation" if config.get("augment") else "")
                + (f", label smoothing {float(config['label_smoothing']):.2f}" if config.get("label_smoothing") else ""))
    return "-"


def _count(config: Mapping[str, Any], key: str) -> int:
    return int(config.get(key) or 0)


def _rate(config: Mapping[str, Any]) -> str:
    value = config.get("learning_rate")
    return "?" if value is None else f"{float(value):.2g}"
