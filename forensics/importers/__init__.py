"""Importers: one module per source, all handing domain records to the store's import session."""
