"""Cal.com: the provider form (generic, from the provider's field declarations) and the mapping editors."""
from ui import context
from ui.mappings import calcom_mapping_editors
from ui.provider_form import provider_page

provider_page("calcom", context.company(), extra=calcom_mapping_editors)
