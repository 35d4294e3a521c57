"""StoryCanvas: from idea to editor for animated films."""

__version__ = "0.1.0"
