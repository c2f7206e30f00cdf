"""Configuration: the schema with its defaults beside each key (``schema``), layering (``layers``),
validation naming file and line (``validate``), loading (``load.load_config``) and the typed
read-only views every other layer reads settings through (``settings.Config``).

Kept free of imports: importing one submodule must not load the others.
"""
