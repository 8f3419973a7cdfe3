"""The image service's refusals: the package's kinds, plus what only images need."""

from __future__ import annotations

from ..errors import Conflict, Denied, Invalid, NotFound, TooLarge

__all__ = ["Conflict", "Denied", "ImageNotFound", "Invalid", "NotFound", "TooLarge"]


class ImageNotFound(NotFound):
    """No such image, or one the caller may not see: both answer 404, as Glance does."""

    def __init__(self, image_id: str) -> None:
        super().__init__(f"No image found with ID {image_id}")
