"""Export a :class:`~bb_agent.model.builder.BuilderModel` (base + rail) to ONNX with a KV cache.

The exported graph is one step of incremental decoding:

    inputs:  input_ids (1, T) int64, past_0 .. past_{2N-1}
    outputs: logits (1, T, V) float32, present_0 .. present_{2N-1}

where the past/present tensors are, in order, (key, value) for every base decoder layer,
each (1, H_kv, S, head_dim), then (key, value) for every rail layer, each (1, S, R). S may
be 0 (the prompt step), so one graph serves the prompt and every following token. The
layout is written next to the graph in ``onnx_manifest.json``, which
:class:`~bb_agent.model.onnx_backend.OnnxBackend` reads; the backend needs onnxruntime and
numpy only. Export uses the torch.export-based exporter (``dynamo=True``) with symbolic
sequence lengths.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from bb_agent.model.builder import BuilderCache, BuilderModel
from bb_agent.model.onnx_backend import MANIFEST

GRAPH = 'model.onnx'
MAX_LEN = 8192  # upper bound of the symbolic sequence dimensions (positions)


class _Step(torch.nn.Module):
    """BuilderModel with a flat tuple of past tensors in and out (exportable)."""

    def __init__(self, model: BuilderModel) -> None:
        super().__init__()
        self.model = model
        self.n_base = model.base.config.num_hidden_layers

    def forward(self, input_ids: torch.Tensor, past: tuple[torch.Tensor, ...]):
        from transformers import DynamicCache
        cache = DynamicCache()
        for i in range(self.n_base):
            cache.update(past[2 * i], past[2 * i + 1], i)
        offset = 2 * self.n_base
        rail = {layer: [past[offset + 2 * j], past[offset + 2 * j + 1]]
                for j, layer in enumerate(self.model.layers)}
        out = self.model(input_ids, cache=BuilderCache(base=cache, rail=rail))
        present = []
        for i in range(self.n_base):
            layer = out.cache.base.layers[i]
            present += [layer.keys, layer.values]
        for layer in self.model.layers:
            present += out.cache.rail[layer]
        return (out.logits, *present)


def _probe_layout(model: BuilderModel) -> dict:
    """Run two tokens through the model and read the cache shapes from the result."""
    with torch.no_grad():
        out = model(torch.zeros(1, 2, dtype=torch.long))
    base = [(tuple(lay.keys.shape), tuple(lay.values.shape)) for lay in out.cache.base.layers]
    (_, kv_heads, _, head_dim), _ = base[0]
    if any(k != (1, kv_heads, 2, head_dim) or v != k for k, v in base):
        raise ValueError(f'unsupported cache layout (layers differ): {base}')
    return {'base_layers': len(base), 'kv_heads': kv_heads, 'head_dim': head_dim,
            'rail_layers': list(model.layers), 'rail_width': model.rail_config.width,
            'vocab_size': int(out.logits.shape[-1])}


def export_onnx(model: BuilderModel, out_dir: str | Path, *, metadata: dict | None = None
                ) -> Path:
    """Export ``model`` (fp32, eval mode) to ``out_dir``; return the graph's path.

    Args:
        model: the builder model; its current gate budget alpha_max is baked in.
        out_dir: folder that receives ``model.onnx`` and ``onnx_manifest.json``.
        metadata: extra manifest entries (grammar/schema hashes, checkpoint id, ...).
    """
    from torch.export import Dim
    model = model.float().eval()
    layout = _probe_layout(model)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_past = 2 * (layout['base_layers'] + len(layout['rail_layers']))
    s_ex = 3  # example past length; the dimension itself is symbolic (0 .. MAX_LEN)
    past = [torch.zeros(1, layout['kv_heads'], s_ex, layout['head_dim'])
            for _ in range(2 * layout['base_layers'])]
    past += [torch.zeros(1, s_ex, layout['rail_width']) for _ in layout['rail_layers']
             for _ in (0, 1)]
    new, seen = Dim('new_tokens', min=1, max=MAX_LEN), Dim('past_len', min=0, max=MAX_LEN)
    dims = tuple({2: seen} if i < 2 * layout['base_layers'] else {1: seen}
                 for i in range(n_past))
    graph = out_dir / GRAPH
    torch.onnx.export(_Step(model).eval(), (torch.zeros(1, 2, dtype=torch.long), tuple(past)),
                      str(graph), dynamo=True, optimize=True, verbose=False,
                      dynamic_shapes={'input_ids': {1: new}, 'past': dims},
                      input_names=['input_ids'] + [f'past_{i}' for i in range(n_past)],
                      output_names=['logits'] + [f'present_{i}' for i in range(n_past)])
    manifest = {**layout, 'format': 1, 'inputs': n_past, 'graph': GRAPH,
                'alpha_max': float(model.alpha_max), **(metadata or {})}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + '\n')
    return graph
