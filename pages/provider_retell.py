"""Retell.ai: the provider form (generic) with the webhook URL and its registration."""
from ui import context
from ui.provider_form import provider_page

provider_page("retell", context.company())
