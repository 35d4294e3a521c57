"""Every rule of StoryCanvas, once: pages, the REST API and the dispatcher call these."""
