"""Sections of the one message catalogue; integhub.i18n merges them and tests check completeness."""
