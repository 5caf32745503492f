import pytest

from cxrcaption_ref.beam import SpecialTokens, detokenize

VOCAB = ["<pad>", "<start>", "<end>", "<nou>", "heart", "is", "normal", ".", ",", "size", "(", ")", "%",
         "?!", "10", "a.b", "心脏", "正常", "。"]
SPECIAL = SpecialTokens.from_vocab(VOCAB)


def ids(*words):
    return [VOCAB.index(w) for w in words]


def test_english_punctuation_attaches_to_previous_word():
    assert detokenize(ids("heart", "is", "normal", "."), VOCAB, " ") == "heart is normal."
    assert detokenize(ids("heart", ",", "size", "normal", "."), VOCAB, " ") == "heart, size normal."


def test_only_listed_punctuation_attaches():
    assert detokenize(ids("size", "(", "10", "%", ")", "?!"), VOCAB, " ") == "size ( 10%)?!"
    # a token that merely contains punctuation is a word
    assert detokenize(ids("heart", "a.b"), VOCAB, " ") == "heart a.b"


def test_leading_punctuation_has_no_space():
    assert detokenize(ids(".", "heart"), VOCAB, " ") == ". heart"


def test_special_tokens_dropped_except_nou():
    tokens = ids("<start>", "heart", "<nou>", "<pad>", "normal", "<end>")
    assert detokenize(tokens, VOCAB, " ") == "heart <nou> normal"
    assert detokenize(tokens, VOCAB, " ", SPECIAL) == "heart <nou> normal"


def test_chinese_concatenates():
    assert detokenize(ids("心脏", "正常", "。"), VOCAB, "") == "心脏正常。"
    assert detokenize(ids("心脏", "<nou>", "。"), VOCAB, "") == "心脏<nou>。"


def test_empty_and_bad_join():
    assert detokenize([], VOCAB, " ") == ""
    with pytest.raises(ValueError, match="join"):
        detokenize(ids("heart"), VOCAB, "_")
