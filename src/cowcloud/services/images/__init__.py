"""The image service (Glance's domain): records, data, stores, imports, deletes. No HTTP here."""

from .service import IMPORT_METHODS, ImageService

__all__ = ["IMPORT_METHODS", "ImageService"]
