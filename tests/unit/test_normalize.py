"""Normalisation of real-looking posts; the default keeps case and punctuation."""

from model.normalize import normalise
from schemas.bundle import Normalisation

DEFAULT = Normalisation()


def test_urls_mentions_and_hashtags() -> None:
    post = "@NASA this is AMAZING!!! #space https://t.co/abc123 www.nasa.gov"
    assert normalise(post, DEFAULT) == "@user this is AMAZING!!! space http http"


def test_repeated_letters_are_squeezed_to_two_but_numbers_stay() -> None:
    assert normalise("soooooo happyyyy", DEFAULT) == "soo happyy"
    assert normalise("won $1000 in 2000", DEFAULT) == "won $1000 in 2000"


def test_emojis_spelled_out_only_when_asked() -> None:
    assert normalise("love it 😍", DEFAULT) == "love it 😍"
    spelled = normalise("love it 😍", Normalisation(emojis=True))
    assert "smiling face with heart-shaped eyes" in spelled


def test_carer_style_lowercase_and_punctuation() -> None:
    carer = Normalisation(lowercase=True, strip_punctuation=True)
    assert normalise("I can't believe it... WOW!", carer) == "i can t believe it wow"


def test_normalising_twice_changes_nothing() -> None:
    post = "OMG @bob #blessed sooo happy 😂 http://x.y"
    once = normalise(post, Normalisation(emojis=True))
    assert normalise(once, Normalisation(emojis=True)) == once
