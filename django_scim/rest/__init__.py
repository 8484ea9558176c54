"""The DRF layer: authentication, content types, errors, conditional requests and views."""
