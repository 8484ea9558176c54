"""Adapters: one class per resource type, mapping SCIM documents onto Django models."""
