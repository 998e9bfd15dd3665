"""Jira wiki markup to CommonMark (planner/interchange/jira_markup.py).

Every expected output is written out by hand."""

import random

import pytest

from planner.interchange.jira_markup import wiki_to_markdown


def test_empty_text():
    assert wiki_to_markdown("") == ""


def test_headings_every_level():
    text = "h1. One\nh2. Two\nh3. Three\nh4. Four\nh5. Five\nh6. Six"
    assert wiki_to_markdown(text) == (
        "# One\n\n## Two\n\n### Three\n\n#### Four\n\n##### Five\n\n###### Six"
    )


def test_heading_keeps_inline_markup_and_a_trailing_hash():
    assert wiki_to_markdown("h2. The *plan* for issue #") == "## The **plan** for issue \\#"


def test_bold_and_italic():
    assert wiki_to_markdown("Some *bold* and _italic_ text") == "Some **bold** and *italic* text"


def test_strike_and_inserted():
    assert wiki_to_markdown("This is -gone- and +added+ now") == "This is ~~gone~~ and added now"


@pytest.mark.parametrize(
    "text",
    [
        "re-train the model on 2024-03-12 data",
        "a - b - c and well-known -- or --- dashes",
        "call my_func_name with C++ and x+y+z",
        "5 * 3 * 2 = 30",
    ],
)
def test_hyphens_underscores_and_stars_that_are_not_markup(text):
    assert wiki_to_markdown(text) == text


def test_monospace_is_not_converted_inside():
    assert wiki_to_markdown("run {{make -j_4 *all*}} now") == "run `make -j_4 *all*` now"


def test_monospace_holding_a_backtick():
    assert wiki_to_markdown("{{a`b}}") == "``a`b``"


def test_code_block_with_language():
    text = "{code:python}\ndef f(x):\n    return *x* - _y_\n{code}"
    assert wiki_to_markdown(text) == "```python\ndef f(x):\n    return *x* - _y_\n```"


def test_code_block_with_title_and_language_parameters():
    text = "{code:title=Main.java|language=java}\nint a = -1-;\n{code}"
    assert wiki_to_markdown(text) == "```java\nint a = -1-;\n```"


def test_code_block_with_a_title_only_has_no_language():
    assert wiki_to_markdown("{code:title=run.sh}\nls -la\n{code}") == "```\nls -la\n```"


def test_noformat_block_keeps_wiki_markup_as_text():
    text = "Log:\n{noformat}\nh1. not a heading\n[a|b] *x*\n{noformat}\nDone."
    assert wiki_to_markdown(text) == "Log:\n\n```\nh1. not a heading\n[a|b] *x*\n```\n\nDone."


def test_code_block_holding_a_fence_gets_a_longer_fence():
    assert wiki_to_markdown("{code}\n```\nx\n```\n{code}") == "````\n```\nx\n```\n````"


def test_code_block_inside_a_line():
    assert wiki_to_markdown("Run {code}ls -la{code} first") == "Run\n\n```\nls -la\n```\n\nfirst"


def test_quote_block():
    text = "{quote}\nTo be *or* not\n{quote}\nSaid he."
    assert wiki_to_markdown(text) == "> To be **or** not\n\nSaid he."


def test_quote_holding_a_list_and_code():
    text = "{quote}\nSteps:\n* one\n{code:sql}\nselect 1;\n{code}\n{quote}"
    assert wiki_to_markdown(text) == ("> Steps:\n>\n> - one\n>\n> ```sql\n> select 1;\n> ```")


def test_bq_line():
    assert wiki_to_markdown("bq. Short quote") == "> Short quote"


def test_links():
    text = "See [the docs|https://example.com/a_b-c-d] or [https://example.com/x_y] now"
    assert wiki_to_markdown(text) == (
        "See [the docs](https://example.com/a_b-c-d) or <https://example.com/x_y> now"
    )


def test_mentions_keep_the_id_text():
    text = "Ping [~accountid:5b10a2844c20165700ede21g] and [~jsmith]"
    assert wiki_to_markdown(text) == "Ping @5b10a2844c20165700ede21g and @jsmith"


def test_bare_urls_are_not_formatted():
    text = "see http://host/a-b-c/_d_/x*y* and -s-"
    assert wiki_to_markdown(text) == "see http://host/a-b-c/_d_/x*y* and ~~s~~"


def test_nested_bullets():
    text = "* one\n** one.a\n*** one.a.i\n* two"
    assert wiki_to_markdown(text) == "- one\n  - one.a\n    - one.a.i\n- two"


def test_nested_numbered_items():
    assert wiki_to_markdown("# first\n## sub\n# second") == "1. first\n   1. sub\n1. second"


def test_mixed_list_levels():
    text = "# step\n#* detail\n#*# deeper\n# next"
    assert wiki_to_markdown(text) == "1. step\n   - detail\n     1. deeper\n1. next"


def test_a_level_jump_nests_one_level_only():
    assert wiki_to_markdown("* a\n*** deep") == "- a\n  - deep"


def test_dash_bullets_and_blank_lines_around_a_list():
    text = "Intro\n- a *b*\n- c\nOutro"
    assert wiki_to_markdown(text) == "Intro\n\n- a **b**\n- c\n\nOutro"


def test_table_with_header_link_and_monospace():
    text = "||Name||Owner||\n|Model|[Priya|https://x.org/p]|\n|Data|{{s3://b|c}}|"
    assert wiki_to_markdown(text) == (
        "| Name | Owner |\n| --- | --- |\n"
        "| Model | [Priya](https://x.org/p) |\n| Data | `s3://b\\|c` |"
    )


def test_table_is_set_apart_from_paragraphs():
    assert wiki_to_markdown("Before\n|a|b|\nAfter") == "Before\n\n| a | b |\n\nAfter"


def test_forced_line_break():
    assert wiki_to_markdown("one\\\\two\\\\") == "one\\\ntwo"


def test_forced_line_break_in_a_table_cell_is_a_space():
    assert wiki_to_markdown("|a\\\\b|c|") == "| a b | c |"


def test_horizontal_rule():
    assert wiki_to_markdown("above\n----\nbelow") == "above\n\n---\n\nbelow"


def test_color_and_panel_markers_are_dropped():
    text = "{panel:title=Note}\n{color:red}Keep{color} *this*\n{panel}"
    assert wiki_to_markdown(text) == "Keep **this**"


def test_images():
    text = "!image.png! and !Screen Shot 2024.png|thumbnail! here"
    assert wiki_to_markdown(text) == "(image: image.png) and (image: Screen Shot 2024.png) here"


def test_lines_markdown_would_read_as_blocks_are_escaped():
    text = "h2. Sum\nTotal\n=====\n> not a quote"
    assert wiki_to_markdown(text) == "## Sum\n\nTotal\n\\=====\n\\> not a quote"


def test_crlf_and_trailing_whitespace():
    text = "h2. Title  \r\nline one \r\nline two\t\r\n"
    assert wiki_to_markdown(text) == "## Title\n\nline one\nline two"


def test_markdown_in_wiki_text_is_kept():
    text = "h1. T\nsee [a](http://x_y-z-)\n```\n*x* -y-\n```"
    assert wiki_to_markdown(text) == "# T\n\nsee [a](http://x_y-z-)\n\n```\n*x* -y-\n```"


MARKDOWN = """## Release notes

Some **bold**, *emphasis* and `inline-code_x`.

- item one
  - nested item
- item two

1. first
2. second

> quoted

```python
x = 1  # -y- *z*
```

See [docs](https://x.org/a_b-c-d) and <https://y.org/-z->."""


def test_markdown_input_is_unchanged():
    assert wiki_to_markdown(MARKDOWN) == MARKDOWN


@pytest.mark.parametrize(
    "text",
    ["Some **bold** text", "**bold** and *em*", "# Heading\n\nText with __strong__."],
)
def test_markdown_bold_italic_and_headings_stay(text):
    assert wiki_to_markdown(text) == text


def test_consecutive_hash_lines_are_a_wiki_list():
    assert wiki_to_markdown("# one\n# two") == "1. one\n1. two"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "*bold and _it and -x and +y and {{z and [a|b",
            "*bold and _it and -x and +y and {{z and [a|b",
        ),
        ("{code}\n*x*", "```\n*x*\n```"),
        ("{quote}\nhello *there*", "> hello **there**"),
        ("a {quote} b {quote} {quote} c", "a\n\n> b\n\n> c"),
        ("h1.\n!broken.png and bq.", "#\n\n!broken.png and bq."),
    ],
)
def test_unbalanced_markers(text, expected):
    assert wiki_to_markdown(text) == expected


def test_private_use_characters_in_the_text_survive():
    text = "a \ue000 0 \ue000 *b* {{c}}"
    assert wiki_to_markdown(text) == "a \ue000 0 \ue000 **b** `c`"


DESCRIPTION = """h2. Context
We retrain the *fraud* model weekly. See [runbook|https://wiki.example.com/ml/run-book] \
and ping [~mchen].

h3. Steps
# Export the data with {{export --since 2024-03-01}}
# Train:
#* baseline
#* -old- new features
# Compare
||Metric||Target||
|AUC|0.92|

{code:bash}
python train.py --model gbm_v2
{code}

{quote}
Done means _deployed_, not merged.
{quote}
"""

EXPECTED = """## Context

We retrain the **fraud** model weekly. See [runbook](https://wiki.example.com/ml/run-book) \
and ping @mchen.

### Steps

1. Export the data with `export --since 2024-03-01`
1. Train:
   - baseline
   - ~~old~~ new features
1. Compare

| Metric | Target |
| --- | --- |
| AUC | 0.92 |

```bash
python train.py --model gbm_v2
```

> Done means *deployed*, not merged."""


def test_realistic_description():
    assert wiki_to_markdown(DESCRIPTION.replace("\n", "\r\n")) == EXPECTED


PIECES = [
    "*", "_", "-", "+", "#", "|", "||", "[", "]", "{", "}", "{{", "}}", "{code}",
    "{code:python}", "{code:title=a|language=b}", "{noformat}", "{quote}", "{color:red}",
    "{color}", "{panel}", "!", "!a.png|thumbnail!", "h1. ", "h7. ", "bq. ", "\\\\", "\\", "\n",
    "\r\n", "\r", " ", "\t", "a", "word", "http://x.y/a-b_c", "`", "```", "~~~", "[~",
    "accountid:", "^", "----", "**", "##", "#*", "*#", ">", "(", ")", "1. ", "=", "\x00",
    "\ue000", "é", "\u2028",
]  # fmt: skip


def test_fuzz_never_raises():
    rnd = random.Random(20240312)
    for _ in range(2000):
        text = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 40)))
        if rnd.random() < 0.2:
            text += "".join(chr(rnd.randint(1, 0x2FFF)) for _ in range(rnd.randint(0, 20)))
        assert isinstance(wiki_to_markdown(text), str)
