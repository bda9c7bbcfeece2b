"""Which words and phrases rose in an emotion's posts: weighted log-odds with an informative
Dirichlet prior (Monroe, Colaresi and Quinn 2008, "Fightin' Words", section 3.5).

For a term w counted in the spike posts (y_i of n_i) and the baseline posts (y_j of n_j),
with prior pseudo-counts a_w = PRIOR_SCALE x (y_i + y_j) + PRIOR_FLOOR and a0 = sum of a_w:

    delta_w = log((y_i + a_w) / (n_i + a0 - y_i - a_w)) - log((y_j + a_w) / (n_j + a0 - y_j - a_w))
    z_w     = delta_w / sqrt(1 / (y_i + a_w) + 1 / (y_j + a_w))

A term counts once per post (a post repeating a word is one voice). Terms are lower-cased words
and bigrams of adjacent words, URLs, @mentions and stop words removed.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

PRIOR_SCALE = 0.05
PRIOR_FLOOR = 0.01
MIN_SPIKE_COUNT = 3  # a term in fewer spike posts is an anecdote, not a theme

URL = re.compile(r"(?:https?://|www\.)\S+|@\w+")
WORD = re.compile(r"[a-z][a-z0-9']*[a-z0-9]|[a-z]")
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further get got had hadn't has hasn't have
    haven't having he he'd he'll he's her here here's hers herself him himself his how how's i
    i'd i'll i'm i've id if im in into is isn't it it's its itself ive just let's like me more
    most mustn't my myself no nor not now of off on once only or other ought our ours ourselves
    out over own really same shan't she she'd she'll she's should shouldn't so some such than
    that that's the their theirs them themselves then there there's these they they'd they'll
    they're they've this those through to too under until up us very was wasn't we we'd we'll
    we're we've were weren't what what's when when's where where's which while who who's whom
    why why's will with won't would wouldn't you you'd you'll you're you've your yours yourself
    yourselves dont didnt cant wont isnt doesnt wasnt ive youre thats theres feel feeling feels
    felt one even still much make made go going know think things thing way lot""".split()
)


@dataclass(frozen=True)
class Term:
    term: str
    score: float  # z of the log-odds: how sure the rise is
    spike_posts: int
    baseline_posts: int


def terms_of(text: str) -> set[str]:
    """The words and adjacent-word bigrams of one post, stop words and URLs removed."""
    words = WORD.findall(URL.sub(" ", text.lower()))
    kept = [word if word not in STOP_WORDS and len(word) > 1 else None for word in words]
    found = {word for word in kept if word}
    found |= {f"{a} {b}" for a, b in zip(kept, kept[1:], strict=False) if a and b}
    return found


def document_counts(texts: Iterable[str]) -> tuple[Counter[str], int]:
    """(posts containing each term, posts)."""
    counts: Counter[str] = Counter()
    posts = 0
    for text in texts:
        counts.update(terms_of(text))
        posts += 1
    return counts, posts


def rising_terms(spike: Iterable[str], baseline: Iterable[str], top: int = 10) -> list[Term]:
    """The `top` terms whose use rose most in `spike` against `baseline`, surest first."""
    ys, ns = document_counts(spike)
    yb, nb = document_counts(baseline)
    priors = {w: PRIOR_SCALE * (ys[w] + yb[w]) + PRIOR_FLOOR for w in ys.keys() | yb.keys()}
    a0 = sum(priors.values())
    scored = []
    for word, y_i in ys.items():
        if y_i < MIN_SPIKE_COUNT:
            continue
        a, y_j = priors[word], yb[word]
        delta = math.log((y_i + a) / (ns + a0 - y_i - a)) - math.log(
            (y_j + a) / (nb + a0 - y_j - a)
        )
        score = delta / math.sqrt(1 / (y_i + a) + 1 / (y_j + a))
        if score > 0:
            scored.append(Term(word, score, y_i, y_j))
    scored.sort(key=lambda term: (-term.score, term.term))
    return scored[:top]
