"""Importing a ComfyUI workflow in a real browser: upload the API-format file, check the bindings, save."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from .conftest import LiveServer, shot, sign_in, wait_ready

USERNAME = "wren"
PASSWORD = "nodes-and-wires-1"

GRAPH = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "dreamshaper_8.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 768, "height": 432, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a harbour at night", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 1,
            "steps": 30,
            "cfg": 6.5,
            "sampler_name": "dpmpp_2m",
            "scheduler": "karras",
            "denoise": 1.0,
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
    },
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "harbour"}},
}


def _picker(scope: Locator, binding: str) -> Locator:
    """A binding's select field (its data-testid sits on the inner search input)."""
    return scope.locator(f'.q-field:has([data-testid="binding-{binding}"])')


def test_import_a_workflow_file_bind_and_save(live_server: LiveServer, page: Page, tmp_path: Path) -> None:
    live_server.create_user(USERNAME, PASSWORD)
    sign_in(page, live_server, USERNAME, PASSWORD)
    page.goto(f"{live_server.url}/workflows")
    wait_ready(page)
    expect(page.get_by_text("No imported workflows yet.")).to_be_visible()
    expect(page.get_by_test_id("workflow-row")).to_have_count(4)
    shot(page, "workflows-empty")

    exported = tmp_path / "harbour_night.json"
    exported.write_text(json.dumps(GRAPH))
    page.get_by_test_id("import-workflow").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Import a ComfyUI workflow")).to_be_visible()
    shot(page, "import-dialog")
    dialog.locator("input[type=file]").set_input_files(str(exported))

    editor = page.get_by_role("dialog")
    expect(editor.get_by_text("Bindings: where each generation value goes")).to_be_visible()
    expect(editor.get_by_label("Name", exact=True)).to_have_value("harbour night")
    expect(_picker(editor, "prompt")).to_contain_text("6 · CLIPTextEncode · text")
    expect(_picker(editor, "negative_prompt")).to_contain_text("7 · CLIPTextEncode · text")
    expect(_picker(editor, "init_image")).not_to_contain_text("·")
    expect(editor.get_by_test_id("workflow-nodes")).to_contain_text("EmptyLatentImage")
    shot(page, "bindings-editor")

    editor.get_by_label("Name", exact=True).fill("Harbour at night")
    editor.get_by_test_id("save-workflow").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    row = page.get_by_test_id("workflow-row").filter(has_text="Harbour at night")
    expect(row).to_be_visible()
    expect(row.get_by_test_id("workflow-support")).to_have_text(re.compile("no server enabled"))
    expect(page.get_by_text("No imported workflows yet.")).to_have_count(0)
    shot(page, "workflow-saved")

    row.get_by_test_id("view-json").click()
    expect(page.get_by_role("dialog")).to_contain_text('"filename_prefix": "harbour"')
    shot(page, "workflow-json")
