"""ONNX Runtime backend: runs a graph written by :mod:`bb_agent.model.onnx_export`.

Needs onnxruntime and numpy only (no torch model, no transformers). The execution provider
is CUDA when onnxruntime-gpu is installed and a GPU is visible, else the CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from bb_agent.core.outcomes import BBError, ErrorCode

MANIFEST = 'onnx_manifest.json'  # the layout file onnx_export writes next to the graph


def default_providers() -> list[str]:
    """Return CUDA then CPU when onnxruntime-gpu sees a GPU, else the CPU provider only."""
    import onnxruntime
    available = onnxruntime.get_available_providers()
    if 'CUDAExecutionProvider' in available:
        return ['CUDAExecutionProvider', 'CPUExecutionProvider']
    return ['CPUExecutionProvider']


class OnnxBackend:
    """Decoding backend over an exported builder model (see :class:`Backend`).

    The state is the tuple of present key/value arrays; arrays are never written in place,
    so :meth:`fork` shares them.

    Args:
        folder: the export folder (``model.onnx`` + ``onnx_manifest.json``).
        providers: onnxruntime execution providers; default :func:`default_providers`.
        threads: intra-op threads (0 = onnxruntime's default).
    """

    def __init__(self, folder: str | Path, *, providers: list[str] | None = None,
                 threads: int = 0) -> None:
        import onnxruntime
        folder = Path(folder)
        try:
            self.manifest = json.loads((folder / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise BBError(ErrorCode.MODEL_UNAVAILABLE,
                          f'no readable ONNX manifest in {folder}: {exc}') from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        try:
            self.session = onnxruntime.InferenceSession(
                str(folder / self.manifest['graph']), options,
                providers=providers or default_providers())
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise BBError(ErrorCode.MODEL_UNAVAILABLE,
                          f'onnxruntime cannot load {folder}: {exc}') from exc
        self.vocab_size = int(self.manifest['vocab_size'])
        self.providers = self.session.get_providers()
        m = self.manifest
        self._empty = tuple(
            [np.zeros((1, m['kv_heads'], 0, m['head_dim']), np.float32)] * (2 * m['base_layers'])
            + [np.zeros((1, 0, m['rail_width']), np.float32)] * (2 * len(m['rail_layers'])))
        self._names = [f'past_{i}' for i in range(len(self._empty))]

    def _run(self, ids: list[int], state: tuple[np.ndarray, ...]):
        feed = dict(zip(self._names, state, strict=True))
        feed['input_ids'] = np.asarray([ids], dtype=np.int64)
        logits, *present = self.session.run(None, feed)
        return torch.from_numpy(logits[0, -1].astype(np.float32, copy=True)), tuple(present)

    def logits(self, ids: list[int]) -> np.ndarray:
        """Return the logits (T, V) of a whole sequence run from an empty cache."""
        feed = dict(zip(self._names, self._empty, strict=True))
        feed['input_ids'] = np.asarray([ids], dtype=np.int64)
        return self.session.run(['logits'], feed)[0][0]

    def start(self, prompt_ids: list[int]) -> tuple[torch.Tensor, object]:
        """Run the prompt (at least one token) and return the next-token logits."""
        if not prompt_ids:
            raise ValueError('the prompt needs at least one token (e.g. BOS)')
        return self._run(list(prompt_ids), self._empty)

    def step(self, state, token: int) -> tuple[torch.Tensor, object]:
        """Feed one token."""
        return self._run([int(token)], state)

    def fork(self, state):
        """Share the (immutable) arrays."""
        return state
