"""The image service's refusals: the shared service error tree, plus what only images need."""

from __future__ import annotations

from ..errors import Conflict, Denied, Invalid, NotFound, ServiceError

__all__ = ["Conflict", "Denied", "ImageNotFound", "Invalid", "NotFound", "ServiceError",
           "TooLarge"]


class ImageNotFound(NotFound):
    """No such image, or one the caller may not see: both answer 404, as Glance does."""

    def __init__(self, image_id: str) -> None:
        super().__init__(f"No image found with ID {image_id}")


class TooLarge(ServiceError):
    """Over a limit: image size cap, property or tag quota, request body size."""

    status = 413
