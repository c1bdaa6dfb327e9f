"""Unternehmen: companies, branches and staff (with CSV import), so the dependency checks can be met."""
from ui import context
from ui.companies import companies_page

companies_page(context.company())
