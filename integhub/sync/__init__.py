"""The sync engine: provider data into local tables, under a lease per (company, provider).

Modules: `upsert` (dialect-aware bulk upsert), `normalize` (one row form per remote object),
`lease` (who runs what), `engine` (the runs), `state` (per-pair worker state).
"""
