"""A Babel extractor for the state machines' labels (``make translations``; dev tooling only).

A definition labels each state and event as ``{"id": "...", "en": "..."}``. The English text is the
message id the UI translates (``web.i18n.label``), in the context of the workflow's name (the file's
name: the same English may read differently in two workflows, like a closed appraisal, *Selesai*,
and a closed cycle, *Ditutup*); the Indonesian text comes along as the translator's comment, and
``tests/web/test_i18n.py`` checks that the ``id`` catalogue says the same.
"""

from __future__ import annotations

import ast
from pathlib import Path


def extract_labels(fileobj, keywords, comment_tags, options):
    """Every dict literal ``{"id": "...", "en": "..."}`` of the file: a label, or a predikat's name."""
    context = Path(getattr(fileobj, "name", "workflow")).stem
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        texts = {
            k.value: v.value
            for k, v in zip(node.keys, node.values, strict=True)
            if isinstance(k, ast.Constant) and isinstance(v, ast.Constant) and isinstance(v.value, str)
        }
        if set(texts) == {"id", "en"} and len(node.keys) == 2:
            yield node.lineno, "pgettext", (context, texts["en"]), [f"id: {texts['id']}"]
