# settings.py of an existing site
INSTALLED_APPS += ["rest_framework", "django_scim"]  # noqa: F821  (extends the site's list)
SCIM = {}  # every key is optional: see the settings reference
