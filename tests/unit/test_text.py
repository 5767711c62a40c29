from hypothesis import given
from hypothesis import strategies as st

from mtaal.corpora.text import split_sentences, tokenize


def sentences_of(text, protected=()):
    return [text[s:e] for s, e in split_sentences(text, protected)]


def test_sentences_end_at_period_before_capital_but_not_after_abbreviations():
    text = "BRCA1 (e.g. in mice) causes cancer. E. coli was used, see Fig. 2. The IL-2 chain binds."
    assert sentences_of(text) == [
        "BRCA1 (e.g. in mice) causes cancer.",
        "E. coli was used, see Fig. 2.",
        "The IL-2 chain binds.",
    ]


def test_newlines_always_end_sentences_and_whitespace_is_trimmed():
    assert sentences_of("  Title of paper\n\nAbstract starts here. ") == [
        "Title of paper",
        "Abstract starts here.",
    ]


def test_no_sentence_boundary_inside_a_protected_mention():
    text = "Treated with Tox. Beta now. Then stopped."
    start = text.index("Tox.")
    assert sentences_of(text, [(start, start + len("Tox. Beta"))]) == [
        "Treated with Tox. Beta now.",
        "Then stopped.",
    ]
    assert sentences_of(text) == ["Treated with Tox.", "Beta now.", "Then stopped."]


def test_tokens_keep_offsets_and_split_at_mention_boundaries():
    text = "The BRCA1-associated gene, α-synuclein."
    spans = tokenize(text, 0, len(text), boundaries=[4, 8])
    assert [text[s:e] for s, e in spans] == [
        "The",
        "BRCA",
        "1",
        "-",
        "associated",
        "gene",
        ",",
        "α",
        "-",
        "synuclein",
        ".",
    ]
    assert spans[1] == (4, 8)


def test_empty_text_has_no_sentences_or_tokens():
    assert split_sentences("") == []
    assert tokenize("   ", 0, 3) == []


@given(st.text(alphabet=st.sampled_from("ab .\nAB1-é"), max_size=80), st.data())
def test_tokens_cover_every_non_space_character_exactly_once(text, data):
    boundaries = sorted(set(data.draw(st.lists(st.integers(0, len(text)), max_size=5))))
    covered = []
    for start, end in split_sentences(text):
        for token_start, token_end in tokenize(text, start, end, boundaries):
            assert token_start < token_end
            assert not any(token_start < b < token_end for b in boundaries)
            covered.extend(range(token_start, token_end))
    assert covered == [i for i, char in enumerate(text) if not char.isspace()]
