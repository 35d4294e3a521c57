"""The dispatcher: feeds ComfyUI servers from the queue on an APScheduler tick."""
