"""Load benchmark of django-scim-provider on PostgreSQL: ``python benchmarks/run.py`` (see README.md)."""
