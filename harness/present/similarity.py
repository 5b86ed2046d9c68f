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


def normalized_tokens(source: str) -> list[tuple[str, int]]:
    """(normalized token, line number) of every token that carries code."""
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in _SKIP:
                continue
            if tok.type == tokenize.NAME:
                text = tok.string if keyword.iskeyword(tok.string) else "N"
            elif tok.type == tokenize.NUMBER:
                text = "0"
            elif tok.type == tokenize.STRING:
                text = "S"
            elif tok.type in (tokenize.INDENT, tokenize.DEDENT):
                text = tokenize.tok_name[tok.type]
            else:
                text = tok.string
            out.append((text, tok.start[0]))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # keep what was read before the file stopped making sense
    return out


def _sources(root: Path) -> list[tuple[str, str]]:
    """(where, source) of every piece of Python: a file, or a notebook's cell."""
    if root.is_file():
        return [(root.name, root.read_text(errors="replace"))]
    texts = []
    for path in submission_files(root, (".py", ".j2", ".ipynb")):
        rel = str(path.relative_to(root))
        if path.suffix == ".ipynb":
            texts += [(f"{rel} cell {n}", cell)
                      for n, cell in enumerate(notebook_code_cells(path), start=1)]
        else:
            texts.append((rel, path.read_text(errors="replace")))
    return texts


def located_shingles(root: Path) -> dict[int, tuple[str, int, int]]:
    """Each run of :data:`K` tokens, hashed, with where it first occurs: (file, first line,
    last line)."""
    found: dict[int, tuple[str, int, int]] = {}
    for where, text in _sources(root):
        toks = normalized_tokens(text)
        for i in range(len(toks) - K + 1):
            key = hash(tuple(t for t, _ in toks[i:i + K]))
            found.setdefault(key, (where, toks[i][1], toks[i + K - 1][1]))
    return found


def shingles(root: Path) -> set[int]:
    return set(located_shingles(root))


def matched_fragments(a: Path, b: Path, ignore: set[int], most: int = 3,
                      context: int = 0) -> list[dict]:
    """The longest stretches of code ``a`` and ``b`` share (runs outside ``ignore``, merged
    where they touch), as ``{"a": {...}, "b": {...}}`` with ``file``, ``start``, ``end`` and
    ``code`` (the lines themselves) on each side."""
    in_a = {k: v for k, v in located_shingles(a).items() if k not in ignore}
    spans: list[list] = []  # [file_a, a0, a1, file_b, b0, b1]
    for key, (fb, b0, b1) in sorted(located_shingles(b).items(), key=lambda kv: kv[1]):
        if key not in in_a:
            continue
        fa, a0, a1 = in_a[key]
        last = spans[-1] if spans else None
        if last and last[0] == fa and last[3] == fb and b0 <= last[5] + 1 and \
                a0 <= last[2] + 1 and a1 >= last[1]:
            last[2], last[5] = max(last[2], a1), max(last[5], b1)
        else:
            spans.append([fa, a0, a1, fb, b0, b1])
    spans.sort(key=lambda s: -(s[5] - s[4]))

    def side(root: Path, where: str, start: int, end: int) -> dict:
        path = root / where.split(" cell ")[0] if root.is_dir() else root
        lines = path.read_text(errors="replace").splitlines() if " cell " not in where \
            else []
        return {"file": where, "start": start, "end": end,
                "code": "\n".join(lines[start - 1 - context:end + context])}

    return [{"a": side(a, s[0], s[1], s[2]), "b": side(b, s[3], s[4], s[5])}
            for s in spans[:most]]


def similar_pairs(subs: list[Path], names: list[str], templates: list[Path],
                  threshold: float = 0.5) -> list[dict]:
    """Pairs at or above ``threshold``, most similar first."""
    ignore: set[int] = set()
    for t in templates:
        ignore |= shingles(t)
    prints = {n: shingles(s) - ignore for n, s in zip(names, subs)}
    paths = dict(zip(names, subs))
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
                          "containment": round(containment, 3), "shared_runs": shared,
                          "fragments": matched_fragments(paths[a], paths[b], ignore)})
    return sorted(pairs, key=lambda p: -max(p["jaccard"], p["containment"]))
