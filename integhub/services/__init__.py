"""Service functions: the one API that pages, CLI, worker and webhook routes call."""
