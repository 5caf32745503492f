"""Beam search against docs/DECODING.md on hand-made decoders whose logits are chosen by the test."""

import math

import numpy as np
import pytest
import torch

from cxrcaption_ref.beam import (BeamParameters, SpecialTokens, beam_search, detokenize, distinct_complete,
                                 log_softmax_f32, normalize_text, repeated_ngram_tokens)

torch.set_num_threads(1)

PAD, START, END, NOU = 0, 1, 2, 3
SPECIAL = SpecialTokens(PAD, START, END, NOU)


class TableDecoder:
    """logits depend on (previous token, step): table[t-1][prev] (float32 [V]), or table[-1] past the end.
    The state is the step count per hypothesis; alpha is a fixed function of (prev, t) so the test can
    check which step's map each token carries."""

    def __init__(self, tables, regions=4):
        self.tables = [np.asarray(t, dtype=np.float32) for t in tables]
        self.regions = regions

    def alpha(self, prev, t):
        a = np.arange(self.regions, dtype=np.float32) + prev * 0.5 + t * 0.25
        return a / a.sum()

    def step(self, previous, state):
        t = state[0] + 1
        table = self.tables[min(int(t[0]) - 1, len(self.tables) - 1)]
        logits = np.stack([table[p] for p in previous])
        alpha = np.stack([self.alpha(int(p), int(tt)) for p, tt in zip(previous, t)])
        return torch.from_numpy(logits), (t,), torch.from_numpy(alpha)

    def run(self, vocab, **params):
        return beam_search(self.step, (np.zeros(1, dtype=np.int64),), lambda s, i: (s[0][i],), vocab, SPECIAL,
                           BeamParameters(**params))


def constant(vocab, values, fill=-10.0):
    """A table where every previous token gives the same logits."""
    row = np.full(vocab, fill, dtype=np.float32)
    for token, value in values.items():
        row[token] = value
    return np.tile(row, (vocab, 1))


def test_truncation_at_max_tokens():
    v = 8
    dec = TableDecoder([constant(v, {4: 2.0, 5: 1.0, END: -5.0})])
    results = dec.run(v, beam=2, results=2, max_tokens=5)
    assert len(results) == 2
    for r in results:
        assert r.truncated and len(r.tokens) == 5 and len(r.attention) == 5
    assert results[0].tokens == [4, 4, 4, 4, 4]
    logp = log_softmax_f32(constant(v, {4: 2.0, 5: 1.0, END: -5.0})[0])
    assert results[0].log_prob == pytest.approx(5 * float(logp[4]), abs=1e-9)
    # second best: one 5 anywhere; ties among positions broken by flat index -> 5 at the last step
    assert results[1].tokens == [4, 4, 4, 4, 5]


def test_max_tokens_one_gives_one_token_per_result():
    v = 6
    dec = TableDecoder([constant(v, {4: 1.0, 5: 0.5, END: 0.0})])
    results = dec.run(v, beam=3, results=3, max_tokens=1)
    assert [(r.tokens, r.truncated) for r in results] == [([4], True), ([5], True), ([], False)]


def test_end_completes_and_includes_its_log_probability():
    v = 7
    first = constant(v, {4: 1.0, 5: 0.0})
    second = constant(v, {END: 3.0, 6: 0.0})
    dec = TableDecoder([first, second])
    results = dec.run(v, beam=1, results=1)
    r = results[0]
    assert r.tokens == [4] and not r.truncated and len(r.attention) == 1
    expected = float(log_softmax_f32(first[0])[4]) + float(log_softmax_f32(second[4])[END])
    assert r.log_prob == expected  # float64 sum of float32 log-probabilities
    assert r.score == r.log_prob


def test_banned_tokens_never_emitted_but_keep_their_probability_mass():
    v = 6
    logits = constant(v, {PAD: 9.0, START: 8.0, NOU: 7.0, 4: 1.0, END: 0.5})
    dec = TableDecoder([logits])
    plain = dec.run(v, beam=1, results=1, max_tokens=3)[0]
    assert plain.tokens == [NOU, NOU, NOU]
    suppressed = dec.run(v, beam=1, results=1, max_tokens=3, suppress_unknown=True)[0]
    assert suppressed.tokens == [4, 4, 4]
    logp = log_softmax_f32(logits[0])  # normalized over the whole vocabulary, banned tokens included
    assert suppressed.log_prob == pytest.approx(3 * float(logp[4]), abs=1e-12)
    assert float(logp[4]) < math.log(0.01)


def test_ties_broken_by_smaller_flat_index():
    v = 8
    dec = TableDecoder([constant(v, {5: 1.0, 4: 1.0, 6: 1.0, END: -20.0})])
    results = dec.run(v, beam=3, results=3, max_tokens=2)
    # step 1: tokens 4, 5, 6 in that order; step 2 all nine candidates tie -> hypothesis 0 first
    assert [r.tokens for r in results] == [[4, 4], [4, 5], [4, 6]]
    one = dec.run(v, beam=1, results=1, max_tokens=2)[0]
    assert one.tokens == [4, 4]


def test_completion_order_breaks_score_ties_and_m_shrinks():
    v = 6
    # step 1: END and 4 tie; END (smaller flat index) is selected first and completes at once.
    first = constant(v, {END: 1.0, 4: 1.0, 5: -3.0})
    # step 2: END has probability 1 in float32 (log-probability exactly 0): [4] ties with [].
    second = constant(v, {END: 0.0}, fill=-200.0)
    assert log_softmax_f32(second[4])[END] == 0.0
    dec = TableDecoder([first, second])
    results = dec.run(v, beam=2, results=2)
    assert [r.tokens for r in results] == [[], [4]]
    assert results[0].score == results[1].score
    assert not results[0].truncated and not results[1].truncated
    # with k = 2 and one completed at step 1, step 2 keeps only m = 1 candidate
    three = dec.run(v, beam=3, results=3)
    assert [r.tokens for r in three] == [[], [4], [5]]


def test_length_penalty_reranks_completed():
    v = 6
    first = constant(v, {END: 0.3, 4: 0.0})
    later = constant(v, {END: 2.0, 4: -1.0})
    dec = TableDecoder([first, later])
    plain = dec.run(v, beam=2, results=2)
    assert [r.tokens for r in plain] == [[], [4]]
    assert all(r.score == r.log_prob for r in plain)
    log_probs = {tuple(r.tokens): r.log_prob for r in plain}
    alpha = 5.0
    penalized = dec.run(v, beam=2, results=2, length_penalty=alpha)
    assert [r.tokens for r in penalized] == [[4], []]
    for r in penalized:
        assert r.log_prob == log_probs[tuple(r.tokens)]
        length = len(r.tokens) + 1  # <end> counts
        assert r.score == pytest.approx(r.log_prob / ((5 + length) / 6) ** alpha, rel=1e-12)


def test_attention_is_the_map_of_the_emitting_step():
    v = 6
    dec = TableDecoder([constant(v, {4: 1.0, 5: 0.0, END: -30.0})])
    r = dec.run(v, beam=1, results=1, max_tokens=3)[0]
    assert r.tokens == [4, 4, 4]
    prevs = [START, 4, 4]
    for t, (prev, att) in enumerate(zip(prevs, r.attention), start=1):
        np.testing.assert_array_equal(att, dec.alpha(prev, t))


def naive_beam(dec, vocab, k, n, T, alpha=0.0, suppress=False):
    """An independent, literal reading of docs/DECODING.md (one hypothesis at a time, Python sorting)."""
    banned = {START, PAD} | ({NOU} if suppress else set())
    live = [([], 0.0)]
    completed = []
    for t in range(1, T + 1):
        cands = []
        for i, (tokens, score) in enumerate(live):
            prev = tokens[-1] if tokens else START
            table = dec.tables[min(t - 1, len(dec.tables) - 1)]
            logp = torch.log_softmax(torch.from_numpy(table[prev].copy()), 0).numpy()
            for w in range(vocab):
                if w not in banned:
                    cands.append((score + float(logp[w]), i * vocab + w, tokens, w))
        cands.sort(key=lambda c: (-c[0], c[1]))
        new_live = []
        for score, _, tokens, w in cands[: k - len(completed)]:
            if w == END:
                completed.append((tokens, score, False, len(tokens) + 1))
            elif t == T:
                completed.append((tokens + [w], score, True, len(tokens) + 1))
            else:
                new_live.append((tokens + [w], score))
        live = new_live
        if len(completed) >= k or not live:
            break
    ranked = sorted(enumerate(completed), key=lambda e: (-(e[1][1] / ((5 + e[1][3]) / 6) ** alpha), e[0]))
    return [(c[0], c[1], c[2]) for _, c in ranked][:n]


@pytest.mark.parametrize("seed", range(12))
def test_matches_naive_reading_on_random_decoders(seed):
    rng = np.random.default_rng(seed)
    v = int(rng.integers(6, 12))
    tables = [rng.normal(0, 1.5, (v, v)).astype(np.float32) for _ in range(int(rng.integers(1, 5)))]
    for table in tables:
        table[:, END] += rng.uniform(-1, 1.5)
    # quantize some logits so exact ties occur
    if seed % 2:
        tables = [np.round(t * 2) / 2 for t in tables]
    dec = TableDecoder(tables)
    k = int(rng.integers(1, 6))
    n = int(rng.integers(1, k + 1))
    T = int(rng.integers(1, 9))
    alpha = float(rng.choice([0.0, 0.7, 2.0]))
    suppress = bool(seed % 3 == 0)
    got = dec.run(v, beam=k, results=n, max_tokens=T, length_penalty=alpha, suppress_unknown=suppress)
    want = naive_beam(dec, v, k, n, T, alpha, suppress)
    assert [(r.tokens, r.truncated) for r in got] == [(w[0], w[2]) for w in want]
    for r, w in zip(got, want):
        assert r.log_prob == pytest.approx(w[1], abs=1e-9)
        assert len(r.attention) == len(r.tokens)
        assert START not in r.tokens and PAD not in r.tokens and END not in r.tokens


def test_parameter_validation():
    with pytest.raises(ValueError, match="results"):
        BeamParameters(beam=2, results=3)
    with pytest.raises(ValueError, match="beam"):
        BeamParameters(beam=0, results=1)
    with pytest.raises(ValueError, match="max_tokens"):
        BeamParameters(max_tokens=0)


def hugging_face_banned(input_ids, n):
    """Hugging Face's NoRepeatNGramLogitsProcessor for one hypothesis, transcribed (_get_ngrams and
    _get_generated_ngrams); ``input_ids`` starts with the decoder's start token as it does there."""
    cur_len = len(input_ids)
    if cur_len + 1 < n:
        return set()
    generated = {}
    for ngram in zip(*[input_ids[i:] for i in range(n)]):
        generated.setdefault(tuple(ngram[:-1]), []).append(ngram[-1])
    return set(generated.get(tuple(input_ids[cur_len + 1 - n:cur_len]), []))


def test_repeated_ngram_tokens_equal_hugging_face():
    rng = np.random.default_rng(7)
    for _ in range(2000):
        tokens = rng.integers(4, 8, size=int(rng.integers(0, 12))).tolist()
        n = int(rng.integers(1, 6))
        # <start> itself (banned for n = 1 there) is never a candidate here anyway
        assert repeated_ngram_tokens(tokens, n) == hugging_face_banned([START] + tokens, n) - {START}, (tokens, n)
    assert repeated_ngram_tokens([4, 5, 4], 2) == {5}
    assert repeated_ngram_tokens([4, 5, 4], 1) == {4, 5}
    assert repeated_ngram_tokens([4, 5, 4], 0) == set()


def test_no_repeat_ngram_bans_the_loop_and_keeps_reported_probabilities():
    v = 8
    table = constant(v, {4: 2.0, 5: 1.0, END: -1.0})
    plain = TableDecoder([table]).run(v, beam=1, results=1, max_tokens=6)
    assert plain[0].tokens == [4] * 6 and plain[0].truncated
    results = TableDecoder([table]).run(v, beam=1, results=1, max_tokens=6, no_repeat_ngram_size=2)
    # after 4 4, the bigram (4, 4) is banned; after 4 4 5, (4, 5) and (5, 4)... greedy picks the best allowed
    tokens = results[0].tokens
    pairs = list(zip(tokens, tokens[1:]))
    assert len(pairs) == len(set(pairs)), tokens
    logp = log_softmax_f32(table[0]).astype(np.float64)
    expected = sum(float(logp[t]) for t in tokens) + (0 if results[0].truncated else float(logp[END]))
    assert results[0].log_prob == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("text, join, expected", [
    ("No acute cardiopulmonary abnormality.", " ", "no acute cardiopulmonary abnormality"),
    ("no acute  cardiopulmonary abnormality..", " ", "no acute cardiopulmonary abnormality"),
    ("(left) pleural: effusion, ", " ", "left pleural effusion"),
    ("heart-size\tnormal", " ", "heart size normal"),
    ("心影正常。 肺野清晰，", "", "心影正常肺野清晰"),
    ("", " ", ""),
    ("<nou> x", " ", "<nou> x"),  # < and > are symbols (Sm), not punctuation
])
def test_normalize_text(text, join, expected):
    assert normalize_text(text, join) == expected


def test_distinct_results_widen_the_beam_until_enough_texts_differ():
    v = 9
    # tokens 4 and 5 are one word, 6 and 7 "." and ".."; every sentence is word + punctuation + <end>
    vocab = ["<pad>", "<start>", "<end>", "<nou>", "clear", "normal", ".", "..", "x"]
    first = constant(v, {4: 2.0, 5: 0.5, 8: -3.0})
    second = constant(v, {6: 1.0, 7: 0.9, END: 0.8})
    third = constant(v, {END: 3.0})
    dec = TableDecoder([first, second, third])
    text = lambda tokens: detokenize(tokens, vocab, " ")  # noqa: E731
    run = lambda **p: beam_search(dec.step, (np.zeros(1, dtype=np.int64),), lambda s, i: (s[0][i],), v,  # noqa: E731
                                  SPECIAL, BeamParameters(**p), text=text, join=" ")
    plain = run(beam=3, results=3)
    assert [text(r.tokens) for r in plain] == ["clear.", "clear..", "clear"]
    short = run(beam=3, results=3, distinct=True, distinct_extra_beam=0)
    assert [text(r.tokens) for r in short] == ["clear."]
    assert not distinct_complete(short, [text(r.tokens) for r in short], " ", 3)
    wide = run(beam=3, results=3, distinct=True, distinct_extra_beam=6)
    texts = [text(r.tokens) for r in wide]
    assert texts[0] == "clear." and len(texts) == 3 and len({normalize_text(t, " ") for t in texts}) == 3
    assert distinct_complete(wide, texts, " ", 3)
    with pytest.raises(ValueError, match="distinct_extra_beam"):
        BeamParameters(distinct_extra_beam=65)
    with pytest.raises(ValueError, match="no_repeat_ngram_size"):
        BeamParameters(no_repeat_ngram_size=-1)
