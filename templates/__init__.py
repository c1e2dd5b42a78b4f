"""Jinja2 templates of the human documents rlmgen writes (installed as rlmgen.templates)."""
