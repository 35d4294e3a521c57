"""Every entity of the domain; importing this module registers them all on SQLModel.metadata."""

from .generation import (
    JOB_STATUSES,
    Batch,
    ComfyServer,
    GenerationJob,
    InferenceConfig,
    ModelEntry,
    ServerModel,
    WorkflowTemplate,
)
from .library import Character, ClipCharacterLink, ClipStyleLink, MediaAsset, StyleTemplate
from .notifications import NOTIFICATION_KINDS, Notification
from .projects import (
    FRAME_RATES,
    Activity,
    Clip,
    GalleryItem,
    Project,
    ProjectCreate,
    ProjectPublic,
    ProjectUpdate,
    Scene,
)
from .studio import Invitation, StudioSetting
from .users import ApiCredential, User, UserCreate, UserPublic

__all__ = [
    "FRAME_RATES",
    "JOB_STATUSES",
    "NOTIFICATION_KINDS",
    "Activity",
    "ApiCredential",
    "Batch",
    "Character",
    "Clip",
    "ClipCharacterLink",
    "ClipStyleLink",
    "ComfyServer",
    "GalleryItem",
    "GenerationJob",
    "InferenceConfig",
    "Invitation",
    "MediaAsset",
    "ModelEntry",
    "Notification",
    "Project",
    "ProjectCreate",
    "ProjectPublic",
    "ProjectUpdate",
    "Scene",
    "ServerModel",
    "StudioSetting",
    "StyleTemplate",
    "User",
    "UserCreate",
    "UserPublic",
    "WorkflowTemplate",
]
