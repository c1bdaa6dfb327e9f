"""integhub: the Integration Hub's service layer (no Streamlit imports below pages/)."""

__version__ = "0.1.0"
