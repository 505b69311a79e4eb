"""Load domain grammars (``grammars/*.lark``) and specialise them with a schema's vocabulary.

One file per domain is the single source of truth. The parser and the checker use the
file as written (generic names, so an unknown skill parses and is reported precisely);
the decoder uses :func:`specialise`, which replaces every rule marked ``// @vocab KEY``
with the schema's allowlist, so strict decoding can only emit declared names.
"""

from __future__ import annotations

from dataclasses import dataclass
import functools
import hashlib
import json
from pathlib import Path
import re

from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.resources import grammar_path

# `rule: BODY  // @vocab KEY` (the body is replaced, the marker kept).
_VOCAB_LINE = re.compile(r'^(?P<rule>[a-z_][a-z0-9_]*):\s*(?P<body>.+?)\s*//\s*@vocab\s+'
                         r'(?P<key>[a-z_]+)\s*$', re.MULTILINE)


@dataclass(frozen=True)
class Grammar:
    """A grammar's text and identity.

    Attributes:
        name: grammar name (file stem), e.g. ``robot_dsl``.
        text: Lark grammar text in the lark/llguidance common subset.
        sha256: hex digest of ``text``; recorded in plans as ``grammar_hash``.
        vocab_keys: the ``@vocab`` keys the grammar declares (e.g. skills, args).
    """

    name: str
    text: str
    sha256: str
    vocab_keys: tuple[str, ...]


# llguidance, unlike lark, does not skip %ignore'd text (whitespace, comments) before the
# first lexeme unless told to; this header makes both engines accept the same strings.
LLGUIDANCE_OPTIONS = '%llguidance {"allow_initial_skip": true}'


def llguidance_text(grammar: Grammar) -> str:
    """Return ``grammar`` as the decoder passes it to llguidance (options header + text)."""
    return f'{LLGUIDANCE_OPTIONS}\n{grammar.text}'


def grammar_from_text(name: str, text: str) -> Grammar:
    """Return a :class:`Grammar` for ``text`` (hashing it and listing its @vocab keys)."""
    keys = tuple(m.group('key') for m in _VOCAB_LINE.finditer(text))
    return Grammar(name, text, hashlib.sha256(text.encode()).hexdigest(), keys)


@functools.lru_cache(maxsize=32)
def load_grammar(name: str) -> Grammar:
    """Load ``grammars/<name>.lark`` from the share folder.

    Raises:
        BBError: UNKNOWN_DOMAIN when the grammar file does not exist.
    """
    try:
        path: Path = grammar_path(name)
    except FileNotFoundError as exc:
        raise BBError(ErrorCode.UNKNOWN_DOMAIN, f'no grammar {name!r}: {exc}') from exc
    return grammar_from_text(name, path.read_text(encoding='utf-8'))


def specialise(grammar: Grammar, vocab: dict[str, list[str]]) -> Grammar:
    """Return ``grammar`` with every ``@vocab KEY`` rule restricted to ``vocab[KEY]``.

    Args:
        grammar: the generic grammar.
        vocab: for each @vocab key, the allowed words (each must match the rule's terminal).

    Raises:
        BBError: INTERNAL when a key is missing or a word list is empty.
    """
    missing = set(grammar.vocab_keys) - set(vocab)
    if missing:
        raise BBError(ErrorCode.INTERNAL,
                      f'grammar {grammar.name}: no vocabulary for @vocab {sorted(missing)}')

    def replace(match: re.Match) -> str:
        words = sorted(set(vocab[match.group('key')]))
        if not words:
            raise BBError(ErrorCode.INTERNAL,
                          f'grammar {grammar.name}: empty vocabulary for {match.group("key")}')
        body = ' | '.join(json.dumps(w) for w in words)
        return f'{match.group("rule")}: {body}  // @vocab {match.group("key")}'

    return grammar_from_text(grammar.name, _VOCAB_LINE.sub(replace, grammar.text))


_SYMBOL_ALTERNATIVES = re.compile(
    r'^(?P<lead>\s*(?:\?pred_arg:|\|))\s*NAME(?P<tail>\s+->\s+symbol)', re.MULTILINE)


def restrict_symbols(grammar: Grammar, symbols: list[str]) -> Grammar:
    """Return a decoding grammar whose symbol values are only ``symbols``.

    Symbols (object and bin ids, enum members) are written as ``NAME`` in the DSL; the
    returned grammar replaces those alternatives with a terminal listing exactly the ids
    of the current world and the schema's enum members. Its language is a subset of
    ``grammar``'s, so every program it allows still parses with the checker's grammar;
    it serves decoding only (the checker keeps the general grammar and reports unknown
    objects itself).
    """
    words = sorted({w for w in symbols if re.fullmatch(r'[a-zA-Z_][a-zA-Z0-9_]{0,31}', w)})
    if not words or not _SYMBOL_ALTERNATIVES.search(grammar.text):
        return grammar
    text = _SYMBOL_ALTERNATIVES.sub(lambda m: f'{m.group("lead")} SYMBOL{m.group("tail")}',
                                    grammar.text)
    text += '\nSYMBOL: ' + ' | '.join(json.dumps(w) for w in words) + '\n'
    return grammar_from_text(grammar.name, text)
