"""A site's own SCIM resource type: ``Device``, backed by its own model, with no view code.

Add ``"devices"`` to ``INSTALLED_APPS`` and register the adapter::

    SCIM = {"RESOURCE_TYPES": {"Device": {"ADAPTER": "devices.scim.DeviceAdapter"}}}

``/Devices`` then has create, read, replace, PATCH, delete, filter, sort, paging, ETags and
``/Bulk``, and ``/ResourceTypes`` and ``/Schemas`` describe it (RFC 7643 section 6). The app has
no ``apps.py`` on purpose: the test suite installs the same code as ``example_project.devices``.
"""
