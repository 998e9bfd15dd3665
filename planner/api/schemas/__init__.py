"""The API's request and response bodies, declared once with pydantic (see base.py for how they
are used): one module per area, all importable from here as `schemas.Name`."""

from planner.api.schemas.audit import *  # noqa: F403
from planner.api.schemas.base import *  # noqa: F403
from planner.api.schemas.links import *  # noqa: F403
from planner.api.schemas.milestones import *  # noqa: F403
from planner.api.schemas.notify import *  # noqa: F403
from planner.api.schemas.outcomes import *  # noqa: F403
from planner.api.schemas.projects import *  # noqa: F403
from planner.api.schemas.sprints import *  # noqa: F403
from planner.api.schemas.stories import *  # noqa: F403
from planner.api.schemas.story_parts import *  # noqa: F403
