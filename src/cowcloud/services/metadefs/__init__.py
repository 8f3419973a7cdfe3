"""Metadata definitions (Glance's metadefs catalog): namespaces of property, object and tag
definitions, and the resource types they apply to. No HTTP here."""

from .service import MetadefService

__all__ = ["MetadefService"]
