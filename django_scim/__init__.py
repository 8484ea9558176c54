"""django-scim-provider: a SCIM 2.0 service provider for any Django site."""

__version__ = "0.1.0"
