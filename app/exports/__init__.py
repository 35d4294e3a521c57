"""Exports of a project's cut to editors: one neutral timeline (timeline.py) and one writer module per format.

Writers take an ExportTimeline and return bytes plus warnings; they never touch the database, so the
same timeline can be checked by the preview, written in every format and tested without a server.
"""
