"""Code similarity across a batch: pairs of submissions an instructor should look at.

Each submission's Python (``.py`` files and notebook code cells) is tokenized with identifiers,
numbers and strings normalized away, so renaming variables or editing comments changes nothing;
overlapping runs of :data:`K` tokens are hashed. Runs that also occur in the provided template
(the harness's plugin template, plus any starter code the instructor names) are ignored. Two
submissions are reported when their Jaccard similarity, or the share of the smaller one found in
the other, reaches the threshold. A listing, not a verdict.
"""

from __future__ import annotations

import io
import itertools
import keyword
import tokenize
from pathlib import Path

from harness.files import notebook_code_cells, submission_files

K = 12
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.ENCODING,
         tokenize.ENDMARKER}


def normalized_tokens(source: str) -> list[str]:
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in _SKIP:
                continue
            if tok.type == tokenize.NAME:
                out.append(tok.string if keyword.iskeyword(tok.string) else "N")
            elif tok.type == tokenize.NUMBER:
                out.append("0")
            elif tok.type == tokenize.STRING:
                out.append("S")
            elif tok.type in (tokenize.INDENT, tokenize.DEDENT):
                out.append(tokenize.tok_name[tok.type])
            else:
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # keep what was read before the file stopped making sense
    return out


def _sources(root: Path) -> list[str]:
    if root.is_file():
        return [root.read_text(errors="replace")]
    texts = []
    for path in submission_files(root, (".py", ".j2", ".ipynb")):
        if path.suffix == ".ipynb":
            texts += notebook_code_cells(path)
        else:
            texts.append(path.read_text(errors="replace"))
    return texts


def shingles(root: Path) -> set[int]:
    found: set[int] = set()
    for text in _sources(root):
        toks = normalized_tokens(text)
        found.update(hash(tuple(toks[i:i + K])) for i in range(len(toks) - K + 1))
    return found


def similar_pairs(subs: list[Path], names: list[str], templates: list[Path],
                  threshold: float = 0.5) -> list[dict]:
    """Pairs at or above ``threshold``, most similar first."""
    ignore: set[int] = set()
    for t in templates:
        ignore |= shingles(t)
    prints = {n: shingles(s) - ignore for n, s in zip(names, subs)}
    pairs = []
    for a, b in itertools.combinations(names, 2):
        sa, sb = prints[a], prints[b]
        if not sa or not sb:
            continue
        shared = len(sa & sb)
        jaccard = shared / len(sa | sb)
        containment = shared / min(len(sa), len(sb))
        if max(jaccard, containment) >= threshold:
            pairs.append({"a": a, "b": b, "jaccard": round(jaccard, 3),
                          "containment": round(containment, 3), "shared_runs": shared})
    return sorted(pairs, key=lambda p: -max(p["jaccard"], p["containment"]))
