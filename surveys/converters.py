"""A path converter for database ids: at most 18 digits, so that an absurd number in an address
is a plain 404 rather than an integer overflow inside the database driver (a 500)."""

from django.urls import register_converter


class DatabaseId:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(DatabaseId, "survey_id")
