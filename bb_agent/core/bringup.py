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
    enabled_by: str | None = Field(None, pattern=r'^[a-z][a-z0-9_]*$',
                                   description='started only when this parameter of the '
                                               'node is set (non-empty) in its parameters')

    def enabled(self, files: list, overrides: dict | None = None) -> bool:
        """Return whether to start the node.

        Args:
            files: its parameter files, in order (a later file wins).
            overrides: ``{param: value}`` applied last.
        """
        if self.enabled_by is None:
            return True
        value = None
        for file in files:
            value = _param_in(Path(file), self.name, self.enabled_by, value)
        value = (overrides or {}).get(self.enabled_by, value)
        return value not in (None, '', [], 0, False)


def _param_in(path: Path, node: str, name: str, default):
    """Return ``node``'s parameter ``name`` in a ROS parameter file, else ``default``."""
    try:
        data = yaml.safe_load(path.read_text(encoding='utf-8')) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise BBError(ErrorCode.INVALID_REQUEST, f'{path}: cannot read parameters: {exc}') \
            from exc
    for key in (node, f'/{node}', '/**', '**'):
        section = data.get(key) if isinstance(data, dict) else None
        params = section.get('ros__parameters') if isinstance(section, dict) else None
        if isinstance(params, dict) and name in params:
            default = params[name]
    return default


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
