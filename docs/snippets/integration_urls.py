# urls.py of an existing site
from django.urls import include, path

urlpatterns += [path("scim/v2/", include("django_scim.urls"))]  # noqa: F821  (extends the site's list)
