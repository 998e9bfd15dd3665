"""The typed SQLAlchemy models, by area. Importing this package registers every table."""

from planner.models.account import Account, ApiToken
from planner.models.base import Base, UTCDateTime
from planner.models.evidence import (
    ArtefactLink,
    Gate,
    GateApprover,
    GateCriterion,
    GateDecision,
    ImmutableRecordError,
    OutcomeRecord,
    RiskChange,
)
from planner.models.milestone import Milestone, MilestoneForecast
from planner.models.notify import (
    Delivery,
    DeliveryAttempt,
    EmailPreference,
    Notification,
    OutboxEvent,
    StoryWatch,
    Webhook,
)
from planner.models.project import (
    Holiday,
    Membership,
    MembershipRole,
    Project,
    ProjectChange,
    ShareLink,
    Stage,
)
from planner.models.risk import Risk, risk_story
from planner.models.search import include_name as search_include_name  # + the FTS DDL hooks
from planner.models.series import StoredSeries
from planner.models.sprint import Sprint, SprintCapacity
from planner.models.story import (
    ChecklistItem,
    Comment,
    Epic,
    Label,
    SavedView,
    Story,
    StoryDependency,
    StoryEvent,
    StoryTextChange,
    story_label,
)
from planner.models.transfer import PendingImport
from planner.models.versioning import listen_for_stamps
from planner.models.versioning import touch as touch  # + the change-version hooks

listen_for_stamps(Project)

__all__ = [
    "ArtefactLink",
    "Gate",
    "GateApprover",
    "GateCriterion",
    "GateDecision",
    "ImmutableRecordError",
    "OutcomeRecord",
    "RiskChange",
    "Webhook",
    "StoryWatch",
    "OutboxEvent",
    "Notification",
    "EmailPreference",
    "DeliveryAttempt",
    "Delivery",
    "Account",
    "ApiToken",
    "Base",
    "ChecklistItem",
    "Comment",
    "SavedView",
    "StoryDependency",
    "StoryTextChange",
    "Epic",
    "Label",
    "PendingImport",
    "story_label",
    "Holiday",
    "Membership",
    "MembershipRole",
    "Milestone",
    "MilestoneForecast",
    "Project",
    "ProjectChange",
    "Risk",
    "ShareLink",
    "Sprint",
    "SprintCapacity",
    "Stage",
    "Story",
    "StoryEvent",
    "StoredSeries",
    "UTCDateTime",
    "risk_story",
    "search_include_name",
]
