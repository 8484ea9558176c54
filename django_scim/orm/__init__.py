"""SCIM to ORM translation: attribute maps, document paths and the filter compiler."""
