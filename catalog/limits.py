"""The limits of a listing's metadata, shared by the form, the API and the services: every
one is named in the error that refuses it (issue 14, finding 6). Column names and counts are
limited by the file check (`csvcheck.MAX_NAME_CHARS`, `csvcheck.MAX_COLUMNS`)."""

TITLE_CHARS = 200
DESCRIPTION_CHARS = 10_000
TERMS_CHARS = 10_000
MAX_TAGS = 20
TAG_CHARS = 40  # Tag.name's column
# Tags as one comma-separated text: room for MAX_TAGS of TAG_CHARS and their separators.
TAGS_TEXT_CHARS = MAX_TAGS * (TAG_CHARS + 2)
