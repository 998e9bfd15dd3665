"""URL converters for the app's routes (apart from planner/__init__.py, which the `planner`
command imports and which must stay free of Flask and werkzeug for its --help to be quick)."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter


class BoundedInt(IntegerConverter):
    """URL ids (/sprints/<int:id>) no larger than a database integer: an absurd number in a URL
    becomes id 0, which nothing has, so the route answers 404 (not an overflow inside a query).
    Refusing it in the converter instead would make werkzeug answer 405 for the other methods
    of the same path."""

    LARGEST = 2**31 - 1

    def to_python(self, value: str) -> int:
        number = int(value)
        return number if number <= self.LARGEST else 0
