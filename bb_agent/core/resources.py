"""Find bb_agent's installed data (grammars, configs, launch files, the default model).

The share folder is looked up, in order, at:

1. ``$BB_AGENT_SHARE``, when set (an explicit override; it must hold ``package.xml``);
2. the source checkout the package was imported from (editable installs and plain
   checkouts), so that edits to grammars and configs take effect without reinstalling;
3. the ament index (``ament_index_python``), when ``AMENT_PREFIX_PATH`` is set, as in a
   sourced colcon install or a ROS 2 system install;
4. ``<prefix>/share/bb_agent`` of the installed package, for pip/venv installs where no
   ament environment is sourced (the prefix of ``sys.prefix`` and of the package itself).

A lookup that finds nothing raises :class:`ResourceNotFoundError` naming every place tried.
"""

from __future__ import annotations

from dataclasses import dataclass
import functools
import os
from pathlib import Path
import sys

PACKAGE = 'bb_agent'
ENV_OVERRIDE = 'BB_AGENT_SHARE'


class ResourceNotFoundError(FileNotFoundError):
    """A share folder or a file inside it could not be found; the message lists where we looked."""


@dataclass(frozen=True)
class ShareDir:
    """The resolved share folder and how it was found.

    Attributes:
        path: absolute path of the share folder (it contains ``package.xml``).
        route: one of ``env``, ``checkout``, ``ament_index``, ``prefix``.
    """

    path: Path
    route: str


def _is_share(path: Path) -> bool:
    return (path / 'package.xml').is_file()


def _checkout_root() -> Path | None:
    # bb_agent/core/resources.py -> repository root holding package.xml and resource/.
    root = Path(__file__).resolve().parents[2]
    if _is_share(root) and (root / 'resource' / PACKAGE).is_file():
        return root
    return None


def _ament_share() -> Path | None:
    if not os.environ.get('AMENT_PREFIX_PATH'):
        return None
    try:
        from ament_index_python.packages import (
            PackageNotFoundError,
            get_package_share_directory,
        )
    except ImportError:
        return None
    try:
        return Path(get_package_share_directory(PACKAGE))
    except (PackageNotFoundError, ValueError, OSError):
        return None


def _prefix_candidates() -> list[Path]:
    # <prefix>/lib/python3.X/site-packages/bb_agent/core/resources.py -> parents[5] is <prefix>.
    # The prefix this copy of the code is installed in first, then the interpreter's.
    here = Path(__file__).resolve()
    prefixes = [here.parents[5]] if len(here.parents) > 5 else []
    prefixes.append(Path(sys.prefix))
    return [p / 'share' / PACKAGE for p in dict.fromkeys(prefixes)]


@functools.lru_cache(maxsize=1)
def share_dir() -> ShareDir:
    """Return the share folder of bb_agent and the route that found it.

    Raises:
        ResourceNotFoundError: when no route finds a folder with ``package.xml``.
    """
    tried: list[str] = []
    override = os.environ.get(ENV_OVERRIDE)
    if override:
        path = Path(override).expanduser().resolve()
        if _is_share(path):
            return ShareDir(path, 'env')
        # An explicit override that is wrong is an error, not a reason to guess.
        raise ResourceNotFoundError(
            f'${ENV_OVERRIDE}={override!r} has no package.xml; unset it or point it at '
            f'a bb_agent share folder')
    root = _checkout_root()
    if root is not None:
        return ShareDir(root, 'checkout')
    tried.append(f'source checkout above {Path(__file__).resolve().parents[1]}')
    ament = _ament_share()
    if ament is not None and _is_share(ament):
        return ShareDir(ament.resolve(), 'ament_index')
    tried.append(f'ament index (AMENT_PREFIX_PATH={os.environ.get("AMENT_PREFIX_PATH", "")!r})')
    for candidate in _prefix_candidates():
        if _is_share(candidate):
            return ShareDir(candidate.resolve(), 'prefix')
        tried.append(str(candidate))
    raise ResourceNotFoundError('bb_agent share folder not found; tried: ' + '; '.join(tried))


def share_path(*parts: str) -> Path:
    """Return ``<share>/<parts...>``, which must exist.

    Args:
        parts: path components below the share folder, e.g. ``('grammars', 'robot_dsl.lark')``.

    Raises:
        ResourceNotFoundError: when the file or folder does not exist.
    """
    share = share_dir()
    path = share.path.joinpath(*parts)
    if not path.exists():
        raise ResourceNotFoundError(
            f'{"/".join(parts)} not found in the bb_agent share folder {share.path} '
            f'(found via {share.route})')
    return path


def grammar_path(name: str) -> Path:
    """Return the path of grammar ``name`` (with or without the ``.lark`` suffix)."""
    return share_path('grammars', name if name.endswith('.lark') else f'{name}.lark')


def config_path(*parts: str) -> Path:
    """Return the path of a file below ``config/``, e.g. ``config_path('domains', 'x.yaml')``."""
    return share_path('config', *parts)
