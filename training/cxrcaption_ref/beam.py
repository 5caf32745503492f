"""Beam search exactly as docs/DECODING.md states it, and the join rule that turns tokens into text.

The search is written against a small step interface so it can drive both the reference model and
hand-made decoders in tests:

    step(previous_tokens: np.ndarray[int64, n], state) -> (logits [n, V] float32, new_state, alpha [n, R])
    reorder(state, indices: np.ndarray[int64]) -> state   (select / repeat hypotheses)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

__all__ = ["SpecialTokens", "BeamParameters", "BeamResult", "beam_search", "model_beam_search",
           "detokenize", "log_softmax_f32", "select_candidates", "repeated_ngram_tokens", "normalize_text",
           "distinct_complete", "MAX_BEAM"]

# Most beams one search may use (CXR_MAX_BEAM_WIDTH), also the widest distinct-results search.
MAX_BEAM = 64

# Unicode White_Space (the fixed list of the Unicode standard), used by normalize_text.
WHITE_SPACE = frozenset([*map(chr, range(0x09, 0x0E)), " ", "\u0085", "\u00a0", "\u1680",
                         *map(chr, range(0x2000, 0x200B)), "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"])

# Characters that make a token "punctuation" under the English join rule.
ATTACHED_PUNCTUATION = frozenset(".,;:!?%)]")


@dataclass(frozen=True)
class SpecialTokens:
    pad: int
    start: int
    end: int
    nou: int

    def to_dict(self) -> dict:
        return {"pad": self.pad, "start": self.start, "end": self.end, "nou": self.nou}

    @classmethod
    def from_vocab(cls, vocab: Sequence[str]) -> "SpecialTokens":
        index = {token: i for i, token in enumerate(vocab)}
        try:
            return cls(index["<pad>"], index["<start>"], index["<end>"], index["<nou>"])
        except KeyError as missing:
            raise ValueError(f"vocabulary lacks special token {missing}") from None


@dataclass(frozen=True)
class BeamParameters:
    beam: int = 3
    results: int = 3
    max_tokens: int = 60
    length_penalty: float = 0.0
    suppress_unknown: bool = False
    no_repeat_ngram_size: int = 0      # 0 = off; n >= 1 bans a token that completes a repeated n-gram
    distinct: bool = False             # results distinct after normalize_text (docs/DECODING.md, rule 7)
    distinct_extra_beam: int = 9       # the distinct search widens the beam up to beam + this (at most 64)

    def __post_init__(self) -> None:
        if not 1 <= self.beam <= MAX_BEAM:
            raise ValueError(f"beam must be in 1...64, got {self.beam}")
        if not 1 <= self.results <= self.beam:
            raise ValueError(f"results must be in 1...beam ({self.beam}), got {self.results}")
        if not 1 <= self.max_tokens <= 1024:
            raise ValueError(f"max_tokens must be in 1...1024, got {self.max_tokens}")
        if not self.length_penalty >= 0:
            raise ValueError(f"length_penalty must be >= 0, got {self.length_penalty}")
        if not 0 <= self.no_repeat_ngram_size <= 1024:
            raise ValueError(f"no_repeat_ngram_size must be in 0...1024, got {self.no_repeat_ngram_size}")
        if not 0 <= self.distinct_extra_beam <= MAX_BEAM:
            raise ValueError(f"distinct_extra_beam must be in 0...{MAX_BEAM}, got {self.distinct_extra_beam}")

    def to_dict(self) -> dict:
        return {"beam": self.beam, "results": self.results, "max_tokens": self.max_tokens,
                "length_penalty": self.length_penalty, "suppress_unknown": self.suppress_unknown,
                "no_repeat_ngram_size": self.no_repeat_ngram_size, "distinct": self.distinct,
                "distinct_extra_beam": self.distinct_extra_beam}


@dataclass
class BeamResult:
    tokens: list[int]              # emitted tokens, without <end>
    log_prob: float                # float64 sum, <end> included when emitted
    score: float                   # log_prob / ((5 + len) / 6) ** alpha
    truncated: bool
    attention: list[np.ndarray]    # one float32 [R] per token in `tokens`
    ended: bool = field(default=False)   # True when <end> was emitted (== not truncated)
    order: int = field(default=0)        # completion order (0 = first completed)

    @property
    def length(self) -> int:
        """len in the length penalty: emitted tokens counting <end> if emitted."""
        return len(self.tokens) + (1 if self.ended else 0)

    def to_json(self, vocab: Sequence[str] | None = None, join: str | None = None) -> dict:
        out = {
            "tokens": [int(t) for t in self.tokens],
            "log_prob": float(self.log_prob),
            "score": float(self.score),
            "truncated": bool(self.truncated),
            "attention": [[float(v) for v in row] for row in self.attention],
        }
        if vocab is not None and join is not None:
            out["text"] = detokenize(self.tokens, vocab, join)
        return out


def log_softmax_f32(logits) -> np.ndarray:
    """log_softmax over the last axis in float32 (torch's implementation), returned as numpy float32."""
    t = torch.as_tensor(logits)
    if t.dtype != torch.float32:
        t = t.float()
    return torch.log_softmax(t, dim=-1).numpy()


def select_candidates(scores: np.ndarray, allowed: np.ndarray, m: int) -> np.ndarray:
    """Flat indices i*V + w of the m best allowed candidates.

    ``scores`` is float64 [n, V]; ``allowed`` is bool [V] (every hypothesis) or [n, V] (per hypothesis).
    Higher first, ties broken by the smaller flat index. Sorting is explicit (lexsort on (flat index,
    -score)), so it does not depend on any top-k implementation.
    """
    n, vocab = scores.shape
    flat_scores = scores.reshape(-1)
    flat_allowed = allowed.reshape(-1) if allowed.ndim == 2 else np.tile(allowed, n)
    candidates = np.nonzero(flat_allowed)[0].astype(np.int64)
    order = np.lexsort((candidates, -flat_scores[candidates]))
    return candidates[order[:m]]


def repeated_ngram_tokens(tokens: Sequence[int], n: int) -> set[int]:
    """Tokens that would complete an n-gram already in ``tokens`` (docs/DECODING.md, rule 2a; Hugging Face's
    no_repeat_ngram_size): every w such that tokens[-(n-1):] + [w] occurs in ``tokens``. Empty when n == 0
    or fewer than n - 1 tokens were emitted; for n == 1, every emitted token."""
    if n <= 0 or len(tokens) < n - 1:
        return set()
    prefix = list(tokens[len(tokens) - (n - 1):])
    return {tokens[i + n - 1] for i in range(len(tokens) - n + 1) if list(tokens[i:i + n - 1]) == prefix}


def normalize_text(text: str, join: str) -> str:
    """The text that distinct results compare (docs/DECODING.md, rule 7): lowercased (Unicode); every
    punctuation character (Unicode general category P*) and White_Space character is a separator; with
    the English join (" ") runs of separators become one space and leading/trailing ones are dropped, with
    the Chinese join ("") separators are dropped."""
    import unicodedata

    words, current = [], []
    for ch in text.lower():
        if ch in WHITE_SPACE or unicodedata.category(ch).startswith("P"):
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        words.append("".join(current))
    return ("" if join == "" else " ").join(words)


def distinct_complete(results: Sequence[BeamResult], texts: Sequence[str], join: str, wanted: int) -> bool:
    """Whether ``results`` are ``wanted`` results with pairwise distinct normalized texts."""
    return len(results) == wanted and len({normalize_text(t, join) for t in texts}) == len(texts)


def beam_search(step: Callable, initial_state: Any, reorder: Callable, vocab_size: int,
                special: SpecialTokens, params: BeamParameters = BeamParameters(),
                trace: list | None = None, text: Callable[[list[int]], str] | None = None,
                join: str = " ") -> list[BeamResult]:
    """docs/DECODING.md, rules 1-7. Returns up to ``params.results`` completed hypotheses, ranked.

    ``trace``, when given, receives per step a dict with the sorted candidate scores around the
    selection boundary (used to measure how far the golden fixtures are from a tie), and per search the
    ranked scores of every completed hypothesis. ``text`` (tokens -> text) is required when
    ``params.distinct`` is set.
    """
    if not params.distinct:
        ranked = _search(step, initial_state, reorder, vocab_size, special, params, trace)
        return ranked[: params.results]
    if text is None:
        raise ValueError("distinct results need the text of a token sequence")
    # Rule 7: searches of width k, 2k, 4k, ... up to min(k + E, 64); the first that holds n distinct texts wins.
    bound = min(params.beam + params.distinct_extra_beam, MAX_BEAM)
    width = params.beam
    while True:
        wide = BeamParameters(beam=width, results=width, max_tokens=params.max_tokens,
                              length_penalty=params.length_penalty, suppress_unknown=params.suppress_unknown,
                              no_repeat_ngram_size=params.no_repeat_ngram_size)
        ranked = _search(step, initial_state, reorder, vocab_size, special, wide, trace)
        seen, distinct = set(), []
        for result in ranked:
            key = normalize_text(text(result.tokens), join)
            if key not in seen:
                seen.add(key)
                distinct.append(result)
        if len(distinct) >= params.results or width >= bound:
            return distinct[: params.results]
        width = min(2 * width, bound)


def _search(step: Callable, initial_state: Any, reorder: Callable, vocab_size: int,
            special: SpecialTokens, params: BeamParameters, trace: list | None) -> list[BeamResult]:
    """Rules 1-6 with width ``params.beam``: every completed hypothesis, ranked."""
    k = params.beam
    allowed = np.ones(vocab_size, dtype=bool)
    allowed[special.start] = False
    allowed[special.pad] = False
    if params.suppress_unknown:
        allowed[special.nou] = False

    # Rule 1: one live hypothesis.
    live_tokens: list[list[int]] = [[]]
    live_attention: list[list[np.ndarray]] = [[]]
    live_scores = np.zeros(1, dtype=np.float64)
    previous = np.array([special.start], dtype=np.int64)
    state = initial_state
    completed: list[BeamResult] = []

    t = 0
    while True:
        t += 1
        # Rule 2: a step for every live hypothesis, log_softmax in float32.
        logits, state, alpha = step(previous, state)
        logp = log_softmax_f32(logits)
        alpha = np.asarray(torch.as_tensor(alpha).float().numpy(), dtype=np.float32)
        n = len(live_tokens)
        assert logp.shape == (n, vocab_size), (logp.shape, n, vocab_size)
        # Rule 2a: per hypothesis, tokens that would repeat an n-gram are not candidates.
        row_allowed = np.tile(allowed, (n, 1))
        for i, tokens in enumerate(live_tokens):
            for w in repeated_ngram_tokens(tokens, params.no_repeat_ngram_size):
                row_allowed[i, w] = False
        # Rule 3: candidates, float64 accumulation, m best with the flat-index tie-break.
        scores = live_scores[:, None] + logp.astype(np.float64)
        m = k - len(completed)
        chosen = select_candidates(scores, row_allowed, m)
        if trace is not None:
            flat = scores.reshape(-1)
            cand = np.nonzero(row_allowed.reshape(-1))[0]
            top = np.sort(flat[cand])[::-1][: m + 1]
            trace.append({"t": t, "m": m, "top": top.tolist()})
        hyp = chosen // vocab_size
        words = chosen % vocab_size
        last_step = t >= params.max_tokens
        # Rule 4 (and 5 at t = T): <end> completes; others continue, or are truncated at t = T.
        new_tokens, new_attention, new_scores, keep = [], [], [], []
        for i, w, flat in zip(hyp.tolist(), words.tolist(), chosen.tolist()):
            score = float(scores.reshape(-1)[flat])
            if w == special.end:
                completed.append(BeamResult(list(live_tokens[i]), score, score, False,
                                            list(live_attention[i]), ended=True, order=len(completed)))
                continue
            tokens = live_tokens[i] + [w]
            attention = live_attention[i] + [alpha[i].copy()]
            if last_step:
                completed.append(BeamResult(tokens, score, score, True, attention, ended=False,
                                            order=len(completed)))
                continue
            new_tokens.append(tokens)
            new_attention.append(attention)
            new_scores.append(score)
            keep.append(i)
        # Rule 5: stop at k completed or at t = T.
        if len(completed) >= k or last_step or not new_tokens:
            break
        index = np.array(keep, dtype=np.int64)
        state = reorder(state, index)
        live_tokens, live_attention = new_tokens, new_attention
        live_scores = np.array(new_scores, dtype=np.float64)
        previous = np.array([t_[-1] for t_ in new_tokens], dtype=np.int64)

    # Rule 6: rank by score / ((5 + len) / 6) ** alpha; ties by completion order (stable sort).
    for result in completed:
        if params.length_penalty != 0:
            result.score = result.log_prob / (((5.0 + result.length) / 6.0) ** params.length_penalty)
        else:
            result.score = result.log_prob
    ranked = sorted(completed, key=lambda r: (-r.score, r.order))
    if trace is not None:
        trace.append({"ranked": [r.score for r in ranked]})
    return ranked


def _reorder_torch_state(state, index: np.ndarray):
    idx = torch.as_tensor(index, dtype=torch.long)
    return tuple(s.index_select(0, idx) for s in state)


@torch.no_grad()
def model_beam_search(model, features: torch.Tensor, special: SpecialTokens,
                      params: BeamParameters = BeamParameters(), trace: list | None = None,
                      vocab: Sequence[str] | None = None, join: str | None = None) -> list[BeamResult]:
    """Beam search of ``model`` (a CaptionModel in eval mode) on one image's V [1, F, G, G] (or [F,G,G]).

    ``vocab`` and ``join`` (the model's, as ``load_model`` returns them) are needed for distinct results."""
    if features.dim() == 3:
        features = features.unsqueeze(0)
    base = model.context(features)
    h0, c0 = model.decoder.initial_state(1, features.device)

    def step(previous: np.ndarray, state):
        h, c = state
        context = base.expand(h.shape[0])
        logits, (h, c), alpha = model.step(torch.as_tensor(previous, dtype=torch.long), (h, c), context)
        return logits, (h, c), alpha

    text = None
    if params.distinct:
        if vocab is None or join is None:
            raise ValueError("distinct results need the model's vocabulary and join (vocab=, join=)")
        text = lambda tokens: detokenize(tokens, vocab, join, special)  # noqa: E731
    return beam_search(step, (h0, c0), _reorder_torch_state, model.vocab_size, special, params, trace,
                       text=text, join=join if join is not None else " ")


def detokenize(tokens: Sequence[int], vocab: Sequence[str], join: str,
               special: SpecialTokens | None = None) -> str:
    """Token ids -> text by the join rule of docs/DECODING.md.

    Special tokens are dropped except ``<nou>``, which is written as ``<nou>``. When ``special`` is not
    given, the tokens named ``<pad>``, ``<start>``, ``<end>`` are the ones dropped.
    """
    if special is not None:
        dropped = {special.pad, special.start, special.end} - {special.nou}
    else:
        dropped = {i for i, s in enumerate(vocab) if s in ("<pad>", "<start>", "<end>")}
    words = [vocab[t] for t in tokens if t not in dropped]
    if join == "":
        return "".join(words)
    if join != " ":
        raise ValueError(f"join must be \"\" or \" \", got {join!r}")
    text = ""
    for word in words:
        if not text:
            text = word
        elif word and all(ch in ATTACHED_PUNCTUATION for ch in word):
            text += word
        else:
            text += " " + word
    return text
