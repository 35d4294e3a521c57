"""Every entity of the domain; importing this module registers them all on SQLModel.metadata."""

from ._common import MAX_ROW_ID, BodyId, RowId, StrictCount, StrictNumber
from .generation import (
    JOB_STATUSES,
    AbandonedPrompt,
    Batch,
    ComfyServer,
    GenerationJob,
    InferenceConfig,
    ModelEntry,
    ServerModel,
    ServerNodeSpecs,
    WorkflowTemplate,
)
from .library import Character, ClipCharacterLink, ClipStyleLink, MediaAsset, StyleTemplate
from .notifications import NOTIFICATION_KINDS, Notification
from .projects import (
    FRAME_RATES,
    Activity,
    Clip,
    ClipPromptVersion,
    GalleryItem,
    Project,
    ProjectCreate,
    ProjectPublic,
    ProjectUpdate,
    Scene,
)
from .studio import Invitation, StudioSetting
from .users import ApiCredential, LoginFailure, User, UserCreate, UserPublic

__all__ = [
    "FRAME_RATES",
    "JOB_STATUSES",
    "MAX_ROW_ID",
    "NOTIFICATION_KINDS",
    "AbandonedPrompt",
    "Activity",
    "ApiCredential",
    "Batch",
    "BodyId",
    "Character",
    "Clip",
    "ClipCharacterLink",
    "ClipPromptVersion",
    "ClipStyleLink",
    "ComfyServer",
    "GalleryItem",
    "GenerationJob",
    "InferenceConfig",
    "Invitation",
    "LoginFailure",
    "MediaAsset",
    "ModelEntry",
    "Notification",
    "Project",
    "ProjectCreate",
    "ProjectPublic",
    "ProjectUpdate",
    "RowId",
    "Scene",
    "ServerModel",
    "ServerNodeSpecs",
    "StrictCount",
    "StrictNumber",
    "StudioSetting",
    "StyleTemplate",
    "User",
    "UserCreate",
    "UserPublic",
    "WorkflowTemplate",
]
