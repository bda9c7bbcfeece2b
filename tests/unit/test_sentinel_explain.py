"""The explanation: a subject the baseline never had tops the rising terms; stop words and
URLs never appear; the delivered text says what happened."""

import random

from sentinel.delivery import payload, summary
from sentinel.explain import examples
from sentinel.terms import rising_terms, terms_of

EVERYDAY = "work coffee traffic dinner family weekend music rain school friends".split()


def posts(rng: random.Random, n: int, extra: str = "") -> list[str]:
    return [
        f"i am so scared about the {rng.choice(EVERYDAY)} and {rng.choice(EVERYDAY)} {extra}"
        for _ in range(n)
    ]


def test_a_new_subject_tops_the_rising_terms() -> None:
    rng = random.Random(3)
    spike = posts(rng, 150) + posts(rng, 60, "hurricane zelgora is coming")
    top = [term.term for term in rising_terms(spike, posts(rng, 800))[:3]]
    assert any("zelgora" in term for term in top), top


def test_stop_words_urls_and_mentions_are_not_terms() -> None:
    found = terms_of("I am SO scared of http://x.co/a @someone the storm")
    assert found == {"scared", "storm"}


def test_terms_that_did_not_rise_are_not_listed() -> None:
    rng = random.Random(4)
    same = posts(rng, 300)
    assert rising_terms(same[:150], same[150:]) == [] or all(
        t.score < 3 for t in rising_terms(same[:150], same[150:])
    )


def test_examples_prefer_posts_with_a_top_term_then_confidence() -> None:
    rng = random.Random(5)
    spike = posts(rng, 40) + posts(rng, 20, "zelgora")
    terms = rising_terms(spike, posts(rng, 400))
    candidates = [(f"id{i}", text, 0.5 + i / 200) for i, text in enumerate(spike)]
    chosen = examples(candidates, terms)
    assert len(chosen) == 5 and all(int(i[2:]) >= 40 for i in chosen)
    assert chosen[0] == "id59"


ALERT = {
    "emotion": "fear",
    "source": "*",
    "direction": "rise",
    "observed_share": 0.31,
    "baseline_share": 0.11,
    "observed_posts": 93,
    "window_posts": 300,
    "score": 7.2,
    "bucket": "2026-03-01T12:00:00+00:00",
    "explanation": [{"term": "zelgora"}, {"term": "hurricane"}],
}


def test_the_slack_text_says_what_rose_how_much_and_why() -> None:
    line = summary(ALERT)
    assert line.startswith("moodwatch: fear rose to 31.0% of posts (baseline 11.0%")
    assert "all sources" in line and "rising terms: zelgora, hurricane" in line


def test_the_payload_carries_the_key_and_the_structured_alert() -> None:
    body = payload("fear:*:rise:x", ALERT)
    assert body["idempotency_key"] == "fear:*:rise:x" and body["alert"]["emotion"] == "fear"
    assert set(body) == {"text", "idempotency_key", "alert"}


def test_backoff_between_passes_doubles_up_to_its_cap() -> None:
    from sentinel.outbox import backoff

    waits = [backoff(attempt, cap_s=100).total_seconds() for attempt in range(1, 6)]
    assert waits == [15, 30, 60, 100, 100]
