"""Adapters-only continual learning from the run ledger (``bb-agent learn``, 001 §5 stage 4).

Examples come from the ledger (:func:`examples_from_ledger`), per correlation id:

- a request whose plan was approved and executed to ``SUCCEEDED``, not a dry run, and not
  rejected by an operator: (request, world context, executed program);
- a clarification answered "yes" (``confirmed``): the confirmed program for the request;
- an operator approval: counts as a success; an operator rejection drops the example.

Only the rail's skill adapters (``down``, ``up``) and routers are trained (a new skill
also gets a prototype row); the base, the rest of the rail and the heads stay frozen,
which :func:`learn` proves by hashing every other tensor before and after. The skill
library grows by at most ``birth_cap`` skills per run, and only when the examples are new
to the model (their loss before training is above ``birth_loss``). Skills whose adapters
are near-identical (cosine of their low-rank products above ``merge_cos``) are merged: the
pair's router rows and adapters are averaged into the first and the second is never routed
to again, against adapter sprawl (001 §9). The result is a candidate checkpoint; only the
promotion gate can make it active.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import hashlib
import json
from pathlib import Path
import shutil

from bb_agent.core.outcomes import BBError, ErrorCode

SUCCEEDED = 0  # HandleRequest OUTCOME_SUCCEEDED, as the agent records it
# The skill library: each skill's adapter (down, up), its prototype (only new skills get
# one; it is not trained) and the router that picks skills.
ADAPTER_KEYS = ('.skills.down', '.skills.up', '.skills.prototypes', '.skills.router.weight',
                '.skills.router.bias')
NEVER_ROUTED = -1e4  # router bias of a merged-away skill


@dataclass(frozen=True)
class Example:
    """One learned request: what was asked, in which world, and the plan that was right."""

    request: str
    context: str
    program: str
    source: str  # executed | confirmed | approved


def examples_from_ledger(path: Path) -> list[Example]:
    """Return the ledger's learnable examples (see the module docstring), oldest first."""
    from bb_agent.safety.ledger import chain_files
    by_cid: dict[str, dict] = {}
    order: list[str] = []
    for file in chain_files(Path(path)):
        for line in file.read_text(encoding='utf-8', errors='replace').splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a torn line: `bb-agent ledger verify` reports it
            cid = rec.get('correlation_id') if isinstance(rec, dict) else None
            if not cid:
                continue
            if cid not in by_cid:
                by_cid[cid] = {}
                order.append(cid)
            by_cid[cid].setdefault(rec.get('event'), []).append(rec)
    out = []
    for cid in order:
        ev = by_cid[cid]
        request = (ev.get('request') or [{}])[0]
        decisions = ev.get('operator_decision', [])
        if not request.get('text') or request.get('dry_run') or request.get('domain') not in (
                None, 'robot') or any(not d.get('approve') for d in decisions):
            continue
        verdicts = [v for v in ev.get('verdict', []) if v.get('approved')]
        done = any(o.get('outcome') == SUCCEEDED for o in ev.get('outcome', []))
        confirmed = ev.get('confirmed', [])
        if confirmed and done and confirmed[-1].get('request'):  # the question's request
            out.append(Example(confirmed[-1]['request'], verdicts[-1].get('context', '')
                               if verdicts else '', confirmed[-1]['program'], 'confirmed'))
        elif verdicts and done:
            out.append(Example(request['text'], verdicts[-1].get('context', ''),
                               verdicts[-1]['program'], 'approved' if decisions else
                               'executed'))
    return out


@dataclass
class LearnConfig:
    """Knobs of one learning run (``bb-agent learn`` options)."""

    steps: int = 60
    lr: float = 3e-3
    birth_cap: int = 1
    birth_loss: float = 0.5  # nats/token before training: above it the examples are new
    merge_cos: float = 0.98
    seed: int = 0


@dataclass
class LearnReport:
    """What a run did: examples, losses, births, merges and the frozen-weights proof."""

    examples: int
    loss_before: float
    loss_after: float
    born: int = 0
    merged: list[tuple[int, int, int]] = field(default_factory=list)  # (block, kept, gone)
    frozen_sha256: str = ''  # of every tensor that is not an adapter or router
    frozen_unchanged: bool = False
    changed: list[str] = field(default_factory=list)
    # The adapters' gradient norm at the first step. 0 means the checkpoint's skill path
    # does not reach its output (a saturated gated update): nothing can be learned there.
    grad_norm: float = 0.0


def _frozen_hash(model) -> str:
    h = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        if not key.endswith(ADAPTER_KEYS) and key.split('.')[0] != 'alpha_max':
            h.update(key.encode() + value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _batch(planner, examples):
    import torch
    tok = planner.tokenizer
    seqs = []
    for ex in examples:
        prompt = planner.prompt_ids(ex.request, ex.context)
        program = tok.encode(ex.program, add_special_tokens=False) + [tok.eos_token_id]
        seqs.append((prompt + program, len(prompt) - 1))
    width = max(len(s) for s, _ in seqs)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    ids = torch.full((len(seqs), width), pad)
    keep = torch.zeros_like(ids, dtype=torch.bool)
    for i, (s, first) in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        keep[i, first:len(s) - 1] = True
    targets = ids[:, 1:][keep[:, :-1]]  # the token each kept position predicts
    return ids, keep, targets


def _loss(model, batch):
    from torch.nn import functional
    ids, keep, targets = batch
    return functional.cross_entropy(model.forward_at(ids, keep).logits, targets)


def learn(checkpoint: Path, examples: list[Example], out: Path,
          cfg: LearnConfig | None = None) -> LearnReport:
    """Train a candidate from ``checkpoint`` on ``examples``; write it to ``out``."""
    cfg = cfg or LearnConfig()
    import torch

    from bb_agent.model.checkpoint import load_checkpoint
    from bb_agent.model.planner import Planner
    if not examples:
        raise BBError(ErrorCode.INVALID_ARGUMENT, 'no learnable examples in the ledger')
    torch.manual_seed(cfg.seed)
    ckpt = load_checkpoint(checkpoint)
    planner = Planner(ckpt, device='cpu')
    model = planner.model
    batch = _batch(planner, examples)
    frozen = _frozen_hash(model)
    with torch.no_grad():
        before = float(_loss(model, batch))
    libraries = [block.skills for block in model.blocks.values()]
    born = cfg.birth_cap if before > cfg.birth_loss else 0
    for lib in libraries:
        if born:
            lib.add_skills(born)
    params = [p for lib in libraries for p in (lib.down, lib.up, *lib.router.parameters())]
    model.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=cfg.lr)
    for lib in libraries:
        lib.train()  # Gumbel routing, so the router learns too; the rest stays in eval
    grad_norm = None
    for _ in range(cfg.steps):
        opt.zero_grad()
        _loss(model, batch).backward()
        if grad_norm is None:
            grad_norm = float(sum(float(p.grad.norm()) ** 2 for p in params
                                  if p.grad is not None) ** 0.5)
        opt.step()
    model.eval().requires_grad_(False)
    merged = [(i, a, b) for i, lib in enumerate(libraries) for a, b in _merge(lib,
                                                                              cfg.merge_cos)]
    with torch.no_grad():
        after = float(_loss(model, batch))
    report = LearnReport(len(examples), before, after, born, merged, frozen,
                         _frozen_hash(model) == frozen, grad_norm=grad_norm or 0.0)
    if not report.frozen_unchanged:
        raise BBError(ErrorCode.INTERNAL, 'learning changed a frozen weight; no candidate')
    _write(ckpt, model, out, report, examples)
    return report


def _merge(lib, threshold: float) -> list[tuple[int, int]]:
    """Merge skills whose adapters are near-identical; return (kept, gone) pairs."""
    import torch
    with torch.no_grad():
        live = [k for k in range(lib.size) if float(lib.router.bias[k]) > NEVER_ROUTED / 2]
        flat = {k: (lib.down[k] @ lib.up[k]).flatten() for k in live}
        out, gone = [], set()
        for i, a in enumerate(live):
            for b in live[i + 1:]:
                if a in gone or b in gone or float(flat[a].norm()) == 0 or float(
                        flat[b].norm()) == 0:
                    continue
                if float(torch.nn.functional.cosine_similarity(flat[a], flat[b], 0)) > \
                        threshold:
                    for t in (lib.down, lib.up, lib.router.weight):
                        t[a] = (t[a] + t[b]) / 2
                    lib.router.bias[b] = NEVER_ROUTED
                    gone.add(b)
                    out.append((a, b))
    return out


def _write(ckpt, model, out: Path, report: LearnReport, examples: list[Example]) -> None:
    from safetensors.torch import load_file, save_file
    if out.exists():
        raise BBError(ErrorCode.INVALID_ARGUMENT, f'{out} exists; choose a new folder')
    shutil.copytree(ckpt.folder, out, ignore=shutil.ignore_patterns('onnx', 'eval'))
    old = load_file(str(ckpt.folder / 'model.safetensors'))
    state = {k: v.contiguous() for k, v in model.state_dict().items() if k in old or
             k.endswith(ADAPTER_KEYS)}
    report.changed = sorted(k for k, v in state.items() if k not in old or old[k].shape !=
                            v.shape or not bool((old[k] == v).all()))
    save_file(state, str(out / 'model.safetensors'))
    config = json.loads((ckpt.folder / 'config.json').read_text())
    config['rail'] = {**config['rail'], 'skills': model.blocks[next(iter(model.blocks))]
                      .skills.size}
    config['learned'] = {'from': str(ckpt.folder), 'examples': report.examples,
                         'born': report.born, 'merged': report.merged,
                         'frozen_sha256': report.frozen_sha256}
    (out / 'config.json').write_text(json.dumps(config, indent=2) + '\n')
    (out / 'learned.jsonl').write_text(''.join(json.dumps(e.__dict__) + '\n'
                                               for e in examples))
