"""Validation numbers the trainer selects epochs by: decoded captions and their CIDEr-D per study, and ROC AUC.

Decoding (``--val-decode``): ``greedy`` (batched: at each step the most probable allowed token; `<start>`
and `<pad>` are never chosen, as in docs/DECODING.md) or ``beam`` (``cxrcaption_ref.beam``, the reference of
the library's beam search, one image at a time, width 3): beam is what the exported model is evaluated
with, greedy costs a fraction of it.

CIDEr-D: one candidate per study (the caption of the study's first image in dataset order) against the
study's target, with document frequencies from the validation references (as ``cxrcaption-cli eval`` uses
the evaluated references'), by ``cider.CiderD`` (pycocoevalcap's arithmetic). Words: ``scoring_words``,
docs/METRICS.md's scoring tokenizer (letters, marks and numbers; each Han character a word: ``han =
characters``), so Chinese is scored as the CLI scores it.
"""
from __future__ import annotations

import unicodedata
from typing import Sequence

import numpy as np
import torch

from cxrcaption_ref.beam import BeamParameters, SpecialTokens, detokenize, model_beam_search

from .cider import CiderD

__all__ = ["scoring_words", "greedy_decode", "beam_decode", "cider_d", "texts_of", "roc_auc"]


def _is_han(ch: str) -> bool:
    o = ord(ch)
    return (0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3FFFF)


def scoring_words(text: str) -> list[str]:
    """docs/METRICS.md's tokenizer (han = characters): maximal runs of letters, marks and numbers,
    lowercased; every Han character a word by itself; everything else separates words."""
    words: list[str] = []
    current: list[str] = []
    for ch in text or "":
        if _is_han(ch):
            if current:
                words.append("".join(current).lower())
                current = []
            words.append(ch)
        elif unicodedata.category(ch)[0] in "LMN":
            current.append(ch)
        elif current:
            words.append("".join(current).lower())
            current = []
    if current:
        words.append("".join(current).lower())
    return words


@torch.no_grad()
def greedy_decode(model, features: torch.Tensor, special: SpecialTokens, max_tokens: int) -> list[list[int]]:
    """Greedy token ids (without `<end>`) for a batch of V [B, F, G, G]; `<start>` and `<pad>` banned."""
    batch = features.shape[0]
    context = model.context(features)
    state = model.decoder.initial_state(batch, features.device)
    previous = torch.full((batch,), special.start, dtype=torch.long, device=features.device)
    done = torch.zeros(batch, dtype=torch.bool, device=features.device)
    out: list[list[int]] = [[] for _ in range(batch)]
    banned = [special.start, special.pad]
    for _ in range(max_tokens):
        logits, state, _ = model.step(previous, state, context)
        logits = logits.float()
        logits[:, banned] = float("-inf")
        choice = logits.argmax(dim=1)
        for b, (token, finished) in enumerate(zip(choice.tolist(), done.tolist())):
            if not finished and token != special.end:
                out[b].append(token)
        done = done | (choice == special.end)
        previous = choice
        if bool(done.all()):
            break
    return out


@torch.no_grad()
def beam_decode(model, features: torch.Tensor, special: SpecialTokens, max_tokens: int, beam: int = 3
                ) -> list[list[int]]:
    """The top beam-search result's tokens for each image of V [B, F, G, G] (the reference beam search runs
    on the CPU: ``model`` must be a CPU model and ``features`` CPU tensors)."""
    params = BeamParameters(beam=beam, results=1, max_tokens=max_tokens)
    return [list(model_beam_search(model, features[b:b + 1], special, params)[0].tokens)
            for b in range(features.shape[0])]


def cider_d(candidates: Sequence[str], references: Sequence[str]) -> float:
    """Mean CIDEr-D of candidate i against reference i, idf from the references."""
    if not references:
        return float("nan")
    refs = [scoring_words(r) for r in references]
    scorer = CiderD(refs)
    return float(np.mean([scorer.score(scorer.vector(scoring_words(c)), scorer.vector(r))
                          for c, r in zip(candidates, refs)]))


def texts_of(token_lists: Sequence[Sequence[int]], vocab: Sequence[str], join: str, special: SpecialTokens
             ) -> list[str]:
    """Token id lists -> texts by the model's join rule (docs/DECODING.md)."""
    return [detokenize(t, vocab, join, special) for t in token_lists]


def roc_auc(scores: np.ndarray, truth: np.ndarray) -> float:
    """ROC AUC by ranks (ties averaged); nan when one class is absent."""
    scores, truth = np.asarray(scores, dtype=np.float64), np.asarray(truth) > 0.5
    n_pos, n_neg = int(truth.sum()), int((~truth).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    s_sorted = scores[order]
    i = 0
    while i < len(s_sorted):
        j = i
        while j + 1 < len(s_sorted) and s_sorted[j + 1] == s_sorted[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j + 2) / 2
        i = j + 1
    return float((ranks[truth].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
