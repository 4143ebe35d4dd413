"""The documentation site: environment pages generated from the registries, a tutorial, built by MkDocs.

``python -m teachgym.site build OUT_DIR [--strict]`` writes the site into ``OUT_DIR`` (open
``OUT_DIR/index.html``). The sources here are ``mkdocs.yml`` and the hand-written pages in ``docs/``;
the per-family pages are generated at build time (:mod:`teachgym.site.pages`) and never committed.
"""
