import asyncio

from nicegui import ui
from nicegui.testing import User


async def test_first_visitor_is_sent_to_sign_in_and_told_the_first_account_becomes_admin(user: User) -> None:
    await user.open("/projects")
    await user.should_see("Sign in")
    await user.should_see("it becomes the administrator")


async def test_registering_signs_in_and_shows_the_empty_projects_page(user: User) -> None:
    await user.open("/login")
    user.find("Create account").click()
    user.find("Username").type("director")
    user.find("Email").type("director@example.com")
    user.find("Password (8+ characters)").type("long-enough-1")
    user.find("Repeat password").type("long-enough-1")
    user.find(kind=ui.button, content="Create account").click()
    await user.should_see("No projects yet.", retries=50)


async def test_every_registration_problem_shows_beside_its_field_at_once(user: User) -> None:
    await user.open("/login")
    user.find("Create account").click()
    user.find("Username").type("x")
    user.find("Email").type("nope")
    user.find("Password (8+ characters)").type("short")
    user.find("Repeat password").type("short")
    user.find(kind=ui.button, content="Create account").click()

    def marked() -> dict[str, str]:
        return {
            label: element.props.get("error-message", "")
            for label in ("Username", "Email", "Password (8+ characters)")
            for element in user.find(kind=ui.input, content=label).elements
            if element.props.get("error")
        }

    for _ in range(100):
        if len(marked()) == 3:
            break
        await asyncio.sleep(0.05)
    assert marked() == {
        "Username": "Username: 3–40 letters, digits, dots, dashes or underscores, starting with a letter or digit.",
        "Email": "Email: enter a valid address, like name@studio.com.",
        "Password (8+ characters)": "Password: at least 8 characters.",
    }
    user.find("Email").type("@example.com")  # fixing one field clears its mark only
    assert "Email" not in marked() and "Username" in marked()
