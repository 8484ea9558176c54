"""The pure SCIM core: RFC 7643 / RFC 7644 rules with the standard library only.

Nothing in this package imports Django, Django REST framework or ``django_scim.conf``;
callers pass configuration values in (``tests/test_layering.py`` enforces it).
"""
