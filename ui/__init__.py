"""Streamlit-side helpers for the pages: cached Hub, language, company picker, cards and forms.

Everything here may import streamlit; nothing under integhub/ may. Business rules stay in
integhub.services; these helpers only lay out what the services return.
"""
