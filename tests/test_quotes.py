"""Speech attribution: strict, so that one speaker's words never go to another."""

from bot.core.attribution import attribute
from bot.core.quotes import extract_quotes, resolve_speaker

SEED_LIKE = (
    "Japan’s chief government spokesman, Yoshihide Suga, reportedly declined to comment.\n\n"
    "However he noted that the country has been in close communication with the United States.\n\n"
    "“Cybersecurity is becoming an important issue in Japan,” he told a regular news conference. "
    "“We’ll take firm measures.”\n\n"
    "It is worth noting that the US government has already asked its allies.\n\n"
    "China denials\n\n"
    "Chinese foreign ministry spokesman Geng Shuang expressed “serious concern” "
    "about the reports.\n\n"
    "“We hope the Japanese side can provide a fair competition environment,” he said.\n\n"
    "Huawei for its part continues to reject Western suggestions, and says Beijing has no say.\n"
)


def spoken(text, speakers):
    return [(a.speaker, text[a.start:a.end]) for a in attribute(text, speakers).spans]


def test_pronoun_and_bare_quote_continue_the_named_speaker():
    got = spoken(SEED_LIKE, ["Yoshihide Suga", "Geng Shuang"])
    suga = [s for who, s in got if who == "Yoshihide Suga"]
    assert len(suga) == 4 and suga[3] == "“We’ll take firm measures.”"


def test_a_new_named_speaker_takes_over_and_the_chain_breaks_after():
    got = spoken(SEED_LIKE, ["Yoshihide Suga", "Geng Shuang"])
    geng = [s for who, s in got if who == "Geng Shuang"]
    assert len(geng) == 2 and "fair competition" in geng[1]
    assert not any("Huawei for its part" in s for _, s in got if who_is(got, s) == "Geng Shuang")
    assert all("US government" not in s for _, s in got)


def who_is(got, sentence):
    return next(who for who, s in got if s == sentence)


def test_a_quote_said_by_someone_else_is_not_given_to_the_current_speaker():
    text = ("Minister Ann Lee said the review was over. “We will not do it,” said John Smith, "
            "a rival.")
    got = spoken(text, ["Ann Lee"])
    assert got[0][0] == "Ann Lee" and got[1][0] == "John Smith"


def test_speakers_are_detected_without_front_matter():
    got = spoken("“The ban is unfair,” said Wang Wenbin, a ministry spokesman.", [])
    assert got == [("Wang Wenbin", "“The ban is unfair,” said Wang Wenbin, a ministry spokesman.")]


def test_quotes_are_exact_substrings():
    sentence = "“Cybersecurity is becoming an important issue in Japan,” he told a news conference."
    quotes = extract_quotes(sentence, "Yoshihide Suga", "c1", 100)
    assert [q.text for q in quotes] == ["Cybersecurity is becoming an important issue in Japan"]
    assert quotes[0].start == 101 and sentence[1:54] == quotes[0].text


def test_speaker_names_resolve_by_surname_or_full_name():
    known = ["Yoshihide Suga", "Geng Shuang", "Oliver Dowden"]
    assert resolve_speaker("Suga", known) == ["Yoshihide Suga"]
    assert resolve_speaker("geng shuang", known) == ["Geng Shuang"]
    assert resolve_speaker("Dowden's", known) == ["Oliver Dowden"]
    assert resolve_speaker("Nobody", known) == []
