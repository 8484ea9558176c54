"""The provisioning log: every SCIM write recorded with its outcome, redacted.

- :mod:`.recorder` writes :class:`~django_scim.models.ProvisioningLog` rows from ``ScimView``;
- :mod:`.redact` removes passwords, secrets, tokens and certificates from bodies first;
- :mod:`.api` and :mod:`.urls` are the read-only staff JSON API, mounted by the site apart from
  the SCIM URLs: ``path("scim-log/", include("django_scim.log.urls"))``;
- :mod:`.filters` is its django-filter ``FilterSet``.

The admin (``django_scim.admin``) browses the same rows; ``manage.py scim_prune_log`` deletes
old ones.
"""
