"""The approval key shared by the plan checker (mints tokens) and the executor (verifies).

Tokens are HMAC-SHA256 with this key (:func:`~bb_agent.core.check.checker.approval_token`), so
only a holder of the key can approve a plan. The key lives in a file readable by its owner
only: ``$BB_AGENT_APPROVAL_KEY_FILE``, else ``$ROS_HOME/bb_agent/approval.key`` (ROS_HOME
defaults to ``~/.ros``). The first node that needs it creates it atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
import secrets

from bb_agent.core.outcomes import BBError, ErrorCode

KEY_BYTES = 32


def key_path(configured: str = '') -> Path:
    """Return the key file: ``configured``, the environment's, or the ROS_HOME default."""
    if configured:
        return Path(configured)
    if os.environ.get('BB_AGENT_APPROVAL_KEY_FILE'):
        return Path(os.environ['BB_AGENT_APPROVAL_KEY_FILE'])
    home = Path(os.environ.get('ROS_HOME') or Path.home() / '.ros')
    return home / 'bb_agent' / 'approval.key'


def load_or_create_key(path: Path) -> bytes:
    """Return the key in ``path``, creating it (mode 0600) when absent; fail closed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, 'w') as handle:
                handle.write(secrets.token_hex(KEY_BYTES))
        text = path.read_text().strip()
    except OSError as exc:
        raise BBError(ErrorCode.INTERNAL, f'approval key {path}: {exc}') from exc
    if len(text) != 2 * KEY_BYTES:  # a racing creator may not have written it yet
        import time
        time.sleep(0.05)
        text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b''
    if len(key) != KEY_BYTES:
        raise BBError(ErrorCode.INTERNAL, f'approval key {path} is malformed; delete it to '
                                          'make a new one')
    return key
