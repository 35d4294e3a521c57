"""Clients for the peers StoryCanvas talks to: ComfyUI servers and RunPod serverless endpoints."""
