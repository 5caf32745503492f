"""Tokenizers, vocabulary rules and Chinese templates."""
import numpy as np
import pytest

from cxrcaption_ref.beam import detokenize
from cxrcaption_train.tokenize import (SPECIALS, ZH_TEMPLATES, build_vocab, decode, encode, tokenize_en,
                                       tokenize_zh, zh_impression, zh_phrase)
from cxrcaption_phantoms.findings import KINDS, Finding


def test_english_words_and_punctuation_lowercased():
    assert tokenize_en("Heart size normal. Lungs are clear, no effusion!") == [
        "heart", "size", "normal", ".", "lungs", "are", "clear", ",", "no", "effusion", "!"]


def test_english_numbers_hyphens_slashes():
    assert tokenize_en("1. A 1.5 cm T-spine nodule (5/6); patient's") == [
        "1", ".", "a", "1.5", "cm", "t-spine", "nodule", "(", "5/6", ")", ";", "patient's"]


def test_redactions_kept_as_one_token():
    assert tokenize_en("Normal chest x-XXXX. XXXX XXXXX Dr.") == [
        "normal", "chest", "x-xxxx", ".", "xxxx", "xxxx", "dr", "."]
    # lowercase 'x' runs that are not redactions stay as they are
    assert tokenize_en("xx Box") == ["xx", "box"]


def test_redactions_dropped_on_request():
    assert tokenize_en("Normal chest x-XXXX. Seen by XXXX.", drop_redactions=True) == [
        "normal", "chest", ".", "seen", "by", "."]


def test_english_round_trip_through_the_join_rule():
    text = "no acute cardiopulmonary abnormality. heart size normal, lungs clear."
    tokens = tokenize_en(text)
    vocab = list(SPECIALS) + sorted(set(tokens))
    ids = encode(tokens, vocab)
    assert decode(ids, vocab, " ") == text


def test_vocabulary_threshold_and_order():
    train = [["a", "b", "c"], ["a", "b", "c"], ["a", "b"], ["a", "d"]]
    vocab = build_vocab(train)
    assert vocab[:4] == ["<pad>", "<start>", "<end>", "<nou>"]
    # a: 4, b: 3, c: 2 (< 3 -> dropped), d: 1
    assert vocab[4:] == ["a", "b"]
    assert build_vocab(train, min_count=2)[4:] == ["a", "b", "c"]
    ids = encode(["a", "c", "zzz", "b"], vocab)
    nou, end = vocab.index("<nou>"), vocab.index("<end>")
    assert ids == [vocab.index("a"), nou, nou, vocab.index("b"), end]
    assert encode(["a"], vocab, add_end=False) == [vocab.index("a")]


def test_vocabulary_ties_alphabetical_and_specials_not_duplicated():
    vocab = build_vocab([["z", "y", "<end>"]] * 3)
    assert vocab == ["<pad>", "<start>", "<end>", "<nou>", "y", "z"]
    with pytest.raises(ValueError):
        build_vocab([], min_count=0)


def test_chinese_segmentation_joins_back():
    text = "双侧少量胸腔积液，左肺底肺不张。"
    tokens = tokenize_zh(text)
    assert len(tokens) > 3
    assert "".join(tokens) == text
    vocab = list(SPECIALS) + sorted(set(tokens))
    assert detokenize(encode(tokens, vocab, add_end=False), vocab, "") == text


def test_every_kind_has_several_chinese_phrasings():
    assert set(ZH_TEMPLATES) == set(KINDS)
    assert all(len(v) >= 3 for v in ZH_TEMPLATES.values())


@pytest.mark.parametrize("kind", list(KINDS))
def test_chinese_phrases_fill_every_placeholder(kind):
    sev = KINDS[kind][0][0] if KINDS[kind][0] else None
    f = Finding(kind, "left" if KINDS[kind][1] else None, "base" if KINDS[kind][2] else None, sev)
    for seed in range(6):
        text = zh_phrase(f, np.random.default_rng(seed))
        assert text and "{" not in text and "None" not in text
        assert not text.startswith("侧")


def test_chinese_impressions_are_seeded_and_varied():
    fs = [Finding("pleural_effusion", "bilateral", severity="small"), Finding("cardiomegaly", severity="mild")]
    a = zh_impression(fs, np.random.default_rng(1))
    assert a == zh_impression(fs, np.random.default_rng(1))
    assert a.endswith("。") and "，" in a
    assert len({zh_impression(fs, np.random.default_rng(s)) for s in range(20)}) > 3
    assert "双侧" in zh_impression([fs[0]], np.random.default_rng(3))
    assert zh_impression([], np.random.default_rng(0)).endswith("。")
