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
