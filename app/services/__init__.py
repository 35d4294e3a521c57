"""Every rule of StoryCanvas, once: pages, the REST API and the dispatcher call these."""

from app.services import text_guard

# Whatever path writes a row (a page, a route, an import, the dispatcher), its text is checked.
text_guard.install()
