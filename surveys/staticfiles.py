"""Serve plotly.js from the installed plotly package as the static file `surveys/plotly.min.js`.

Why a finder rather than a copy in `surveys/static/` or a view: the plotly Python package ships
the matching `plotly.min.js` in `plotly/package_data/`. A finder makes exactly that one file a
static file, so `{% static %}`, whitenoise (compression, caching headers) and `collectstatic`
treat it like any other, no one copies 4.8 MB into the repository or has to remember to copy it
again after upgrading plotly, and the browser always runs the plotly.js the figures were built
for. A view would bypass whitenoise; a STATICFILES_DIRS entry would publish the whole
`package_data` folder (datasets, templates, the widget bundle), not one file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import CheckMessage, Error
from django.core.files.storage import FileSystemStorage

PUBLIC_PREFIX = "surveys"
FILE_NAME = "plotly.min.js"
PUBLIC_PATH = f"{PUBLIC_PREFIX}/{FILE_NAME}"


def plotly_js_dir() -> Path:
    import plotly  # on first use: it takes 0.1 s, and only the static files finder needs it

    return Path(plotly.__file__).resolve().parent / "package_data"


class PlotlyJsFinder(BaseFinder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(plotly_js_dir()))
        # collectstatic and whitenoise put a storage's files under its `prefix`.
        self.storage.prefix = PUBLIC_PREFIX  # type: ignore[attr-defined]

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        if not (plotly_js_dir() / FILE_NAME).is_file():
            return [
                Error(
                    f"The plotly package has no {FILE_NAME} in {plotly_js_dir()}.",
                    hint="Reinstall plotly (requirements.txt); the survey charts need it.",
                    id="surveys.E001",
                )
            ]
        return []

    # The ignore: the stubs' overloads say None for "not found", but Django's finders answer [].
    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str]:  # type: ignore[override]
        if path != PUBLIC_PATH:
            return []  # what Django's own finders answer for "not here"
        found = str(plotly_js_dir() / FILE_NAME)
        return [found] if find_all else found

    def list(self, ignore_patterns: Any) -> Any:
        yield FILE_NAME, self.storage
