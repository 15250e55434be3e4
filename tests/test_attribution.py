"""Speech attribution read from the text: fictional articles in common news styles, no speakers
list. Precision first: an unattributed quotation is better than one given to the wrong person."""

from bot.core.attribution import attribute
from bot.core.dates import parse_partial_date
from bot.core.quotes import resolve_role

ARTICLE = (
    "Ada K. Quint, the regulator's chair, announced the rules on Monday. “No operator gets an "
    "exemption,” she told reporters.\n\n"
    "“The deadline stands. We have been clear for two years.”\n\n"
    "Transport Minister Olaf Brenner told lawmakers the plan was ready. The vote is due next week. "
    "“We will not wait for an incident,” Brenner said.\n\n"
    "According to Valdovia's trade envoy, Sun Beiling, the rules were \"protectionism in "
    "disguise\". \"They target one company,\" she added.\n\n"
    "The ministry said in a statement that the measure was “discriminatory and unfair”.\n\n"
    "Huawei said it would challenge the decision. “We are disappointed,” a spokesperson said.\n"
)


def said_by(text):
    found = attribute(text)
    return found, {text[a.start:a.end]: a.speaker for a in found.spans}


def test_appositive_role_initials_and_pronoun_continue_one_speaker():
    _, got = said_by(ARTICLE)
    assert got["“No operator gets an exemption,” she told reporters."] == "Ada K. Quint"


def test_a_bare_quotation_in_the_next_paragraph_continues_the_speaker():
    _, got = said_by(ARTICLE)
    assert got["“The deadline stands."] == "Ada K. Quint"
    assert got["We have been clear for two years.”"] == "Ada K. Quint"


def test_surname_after_a_title_before_the_name_resolves_to_the_full_name():
    _, got = said_by(ARTICLE)
    assert got["“We will not wait for an incident,” Brenner said."] == "Olaf Brenner"
    assert "The vote is due next week." not in got


def test_according_to_behind_a_role_and_the_follow_on_quotation():
    _, got = said_by(ARTICLE)
    opening = next(s for s in got if s.startswith("According to"))
    assert got[opening] == "Sun Beiling"
    assert got['"They target one company," she added.'] == "Sun Beiling"


def test_words_of_a_ministry_or_an_unnamed_spokesperson_go_to_no_person():
    _, got = said_by(ARTICLE)
    assert not any("discriminatory" in s or "disappointed" in s for s in got)


def test_roles_are_kept_and_questions_by_role_resolve_to_the_person():
    found, _ = said_by(ARTICLE)
    assert "Transport Minister" in found.roles["Olaf Brenner"]
    assert resolve_role("Valdovia's trade envoy", found.roles) == ["Sun Beiling"]
    assert resolve_role("the regulator's chair", found.roles) == ["Ada K. Quint"]
    assert resolve_role("Ruritania's trade envoy", found.roles) == []  # another country's
    assert resolve_role("the finance minister", found.roles) == []


def test_two_speakers_in_one_paragraph_do_not_bleed():
    text = ("Mr Brewster warned: “The decision is political.” Tory MP Bob Seely, who sat beside "
            "him, disagreed. Mr Seely shot back: “Almost nothing was true.” “It is a fig leaf,” "
            "he said.")
    _, got = said_by("Ed Brewster, Huawei's director, spoke first. " + text)
    assert got["Mr Brewster warned: “The decision is political.”"] == "Ed Brewster"
    assert got["Mr Seely shot back: “Almost nothing was true.”"] == "Bob Seely"
    assert got["“It is a fig leaf,” he said."] == "Bob Seely"


def test_a_company_named_like_a_person_is_not_a_speaker():
    found, _ = said_by("Huawei Spain stressed its contracts are confidential. “We comply with "
                       "every rule,” the company said.")
    assert found.spans == []


def test_partial_dates_are_read_shown_and_sorted_as_given():
    month, year, day = (parse_partial_date(v) for v in ("2018-04", 2018, "2018-04-02"))
    assert [str(month), str(year), str(day)] == ["2018-04", "2018", "2018-04-02"]
    assert sorted([day, month, year]) == [year, month, day]
    assert month.key == 20180400


def test_titles_written_before_a_name_become_roles_with_their_country():
    text = ("Valdovia signed the memorandum on Friday. Minister of Foreign Affairs Ilse Marrow "
            "said the text names no company. “Our security comes first,” the foreign minister "
            "added.\n\nValdovia's Cabinet Secretary in the Ministry of Transport Dan Okello has "
            "described the "
            "vendor as a scapegoat. Meanwhile Prime Minister Tor Ansgar, through his spokesperson "
            "Mia Lund, pledged support. “We choose for ourselves,” said Lund.")
    found, got = said_by(text)
    assert "Minister of Foreign Affairs" in found.roles["Ilse Marrow"]
    assert got["“Our security comes first,” the foreign minister added."] == "Ilse Marrow"
    assert any("Cabinet Secretary in the Ministry of Transport" in r
               for r in found.roles["Dan Okello"])
    assert not any("spokesperson" in r for r in found.roles.get("Tor Ansgar", []))
    spokesperson = resolve_role("the valdovian prime minister's spokesperson", found.roles)
    assert spokesperson != ["Tor Ansgar"]


def test_participles_lone_surnames_and_a_titled_vendor_executive():
    text = ("Tokyo voiced concern, with Foreign Ministry spokesman Lu Haoran stressing that trade "
            "must be \"mutual benefit\". “The guidance is clear,” said Morrison.\n\n"
            "Brightcom VP Victor Lam had the following to say: “We were reassured by the review.”")
    _, got = said_by(text)
    stressing = next(s for s in got if "stressing" in s)
    assert got[stressing] == "Lu Haoran"
    assert got["“The guidance is clear,” said Morrison."] == "Morrison"
    said = next(s for s in got if "following to say" in s)
    assert got[said] == "Victor Lam"

