"""The published JSON Schema of the interchange format: the file in docs/ is the one planner
checks with, any standard validator can use it, and its problems read in planner's words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from planner.demo import DEMO_FILE
from planner.interchange.schema import schema_text
from planner.interchange.validate import check_document
from tests.samples import full_document

PUBLISHED = Path(__file__).resolve().parent.parent / "docs" / "interchange.schema.json"


def standard_validator() -> Draft202012Validator:
    """The published file read by plain jsonschema, as another tool would, no planner code."""
    schema = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_the_published_schema_is_the_one_planner_checks_with():
    # Regenerate with: python -c "from planner.interchange.schema import schema_text;
    # open('docs/interchange.schema.json','w').write(schema_text())"
    assert PUBLISHED.read_text(encoding="utf-8") == schema_text()


def test_a_standard_validator_accepts_the_demo_and_the_full_sample():
    validator = standard_validator()
    demo = json.loads(Path(DEMO_FILE).read_text(encoding="utf-8"))
    assert list(validator.iter_errors(demo)) == []
    assert list(validator.iter_errors(full_document())) == []


@pytest.mark.parametrize(
    "change, where",
    [
        (lambda d: d["stories"][0].update(status="doing"), ["stories", 0, "status"]),
        (lambda d: d["stories"][0].update(points=4), ["stories", 0, "points"]),
        (lambda d: d["stories"][0].update(colour="red"), ["stories", 0]),
        (lambda d: d["risks"][0].update(impact=6), ["risks", 0, "impact"]),
        (lambda d: d["project"].update(key="fraud"), ["project", "key"]),
        (lambda d: d["project"].update(working_days=[1, 1]), ["project", "working_days"]),
        (lambda d: d["sprints"][0].pop("start"), ["sprints", 0]),
    ],
)
def test_a_standard_validator_refuses_what_planner_refuses(change, where):
    doc = full_document()
    change(doc)
    errors = list(standard_validator().iter_errors(doc))
    assert errors, "the published schema let a broken document through"
    if where is not None:
        assert any(list(error.absolute_path) == where for error in errors)
    _, problems = check_document(doc)
    assert problems


def problems_of(change) -> list[str]:
    doc = full_document()
    change(doc)
    plan, problems = check_document(doc)
    assert plan is None
    return [str(problem) for problem in problems]


def test_shape_problems_read_in_plain_words_at_their_paths():
    assert problems_of(lambda d: d["stories"][0].update(points=4)) == [
        "$.stories[0].points: 4 is not on the points scale 0, 1, 2, 3, 5, 8, 13, 21 (or null)"
    ]
    assert problems_of(lambda d: d["risks"][0].update(likelihood=True)) == [
        "$.risks[0].likelihood: expected a whole number, found a boolean"
    ]
    assert problems_of(lambda d: d["epics"][0].update(title="   ")) == [
        "$.epics[0].title: must not be empty"
    ]
    assert problems_of(lambda d: d["epics"][0].update(title=None)) == [
        "$.epics[0].title: must not be empty"
    ]
    assert problems_of(lambda d: d["sprints"][0].pop("end")) == [
        "$.sprints[0].end: missing (required)"
    ]
    assert problems_of(lambda d: d["members"][3].update(access="owner")) == [
        "$.members[3].access: unknown access level 'owner' (one of manage, edit, view)"
    ]
    assert problems_of(lambda d: d["project"].update(working_days=[1, 9])) == [
        "$.project.working_days: expected a non-empty list of distinct ISO weekdays 1-7 "
        "(1 = Monday)"
    ]


def test_a_whole_number_written_with_a_decimal_point_is_refused_where_it_stands():
    # JSON Schema counts 10.0 as an integer; planner, like its API, asks for 10.
    assert problems_of(lambda d: d["project"].update(sprint_length_days=10.0)) == [
        "$.project.sprint_length_days: expected a whole number, found a number"
    ]
    assert problems_of(lambda d: d["risks"][0].update(likelihood=2.0)) == [
        "$.risks[0].likelihood: expected a whole number, found a number"
    ]
    assert problems_of(lambda d: d["stories"][1].update(points=3.0)) == [
        "$.stories[1].points: 3.0 is not on the points scale 0, 1, 2, 3, 5, 8, 13, 21 (or null)"
    ]
    # Written as a whole number, it is taken.
    doc = full_document()
    doc["project"]["sprint_length_days"] = 10
    plan, problems = check_document(doc)
    assert problems == [] and plan.sprint_length_days == 10


def test_a_history_value_is_checked_as_its_field():
    doc = full_document()
    events = doc["stories"][0]["history"]
    index = next(i for i, event in enumerate(events) if event["field"] == "status")
    events[index]["to"] = "doing"
    _, problems = check_document(doc)
    assert str(problems[0]).startswith(
        f"$.stories[0].history[{index}].to: unknown status 'doing' (one of "
    )


def test_a_key_with_a_final_line_break_is_refused():
    # Python's `$` matches before a final "\n"; JSON Schema's does not, and neither does planner.
    assert problems_of(lambda d: d["project"].update(key="FRAUD\n")) == [
        "$.project.key: 'FRAUD\\n' is not a project key (2-10 capital letters or digits)"
    ]


def test_shape_and_meaning_problems_come_together_in_document_order():
    def change(d):
        d["risks"][0]["impact"] = 0  # shape
        d["stories"][0]["sprint"] = "Sprint 99"  # meaning: a reference
        d["members"][0]["name"] = "Ann\x07"  # meaning: a control character

    found = problems_of(change)
    assert [problem.split(":")[0] for problem in found] == [
        "$.members[0].name",
        "$.stories[0].sprint",
        "$.risks[0].impact",
    ]
    assert found[1] == "$.stories[0].sprint: sprint 'Sprint 99' not found in $.sprints"
    assert found[2] == "$.risks[0].impact: 0 is outside 1..5"


def test_a_number_too_long_to_print_is_a_problem_not_a_crash():
    huge = 10**5000
    assert problems_of(lambda d: d["project"].update(key=huge)) == [
        "$.project.key: a number too long to show is not a project key "
        "(2-10 capital letters or digits)"
    ]
