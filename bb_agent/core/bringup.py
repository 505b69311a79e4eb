"""Schema of ``config/agent.yaml``: the one list of nodes that make up the stack.

Both ``launch/agent.launch.py`` (ROS installs) and ``bb-agent up`` (venvs) build their
processes from this list, so the two bring-ups cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError
import yaml

from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.strict_model import StrictModel, validation_message


class NodeSpec(StrictModel):
    """One node of the stack."""

    name: str = Field(pattern=r'^[a-z][a-z0-9_]*$', description='ROS node name')
    executable: str = Field(pattern=r'^[a-z][a-z0-9_]*$',
                            description='console_script in lib/bb_agent (ROS) or .venv/bin')
    required: bool = Field(True, description='the stack fails when this node dies')
    lifecycle: bool = Field(False, description='LifecycleNode: configure+activate on start')
    sim_only: bool = Field(False, description='started only when use_sim is true')
    params: tuple[str, ...] = Field((), description='parameter files below config/')


class Bringup(StrictModel):
    """The whole bring-up: the ordered node list."""

    nodes: tuple[NodeSpec, ...] = ()


def load_bringup(path: Path) -> Bringup:
    """Load and validate a bring-up file.

    Args:
        path: the YAML file, with a top-level ``bringup`` mapping.

    Raises:
        BBError: INVALID_REQUEST naming the file and the offending key.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding='utf-8')) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise BBError(ErrorCode.INVALID_REQUEST, f'{path}: cannot read bring-up: {exc}') from exc
    if not isinstance(data, dict) or set(data) != {'bringup'}:
        raise BBError(ErrorCode.INVALID_REQUEST,
                      f'{path}: expected exactly one top-level key "bringup"')
    try:
        bringup = Bringup.model_validate(data['bringup'] or {})
    except ValidationError as exc:
        where = validation_message(exc)
        raise BBError(ErrorCode.INVALID_REQUEST, f'{path}: {where}') from exc
    names = [n.name for n in bringup.nodes]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BBError(ErrorCode.INVALID_REQUEST, f'{path}: duplicate node names {duplicates}')
    return bringup
