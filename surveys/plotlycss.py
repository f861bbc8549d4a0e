"""plotly.js's own style rules as a stylesheet, so charts need no inline <style> (CSP).

When it loads, plotly.js adds its rules (modebar, hover labels, notifier) to a `<style>` it
creates, which a Content-Security-Policy without `style-src 'unsafe-inline'` refuses. plotly.js
skips that when the page already holds an element `#plotly.js-style-global.no-inline-styles`,
so the pages that draw charts link `surveys/plotly.css` under that id and class. The file is
generated from the plotly.min.js the plotly package ships (`python -m surveys.plotlycss`), and a
test checks it still matches after every upgrade of plotly.
"""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path

from surveys.staticfiles import FILE_NAME, plotly_js_dir

CSS_PATH = Path(__file__).resolve().parent / "static" / "surveys" / "plotly.css"

_STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''
_PAIR = re.compile(rf"({_STRING}|[A-Za-z_$][\w$]*)\s*:\s*({_STRING})")


def _unquote(token: str) -> str:
    if token[:1] in {'"', "'"}:
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token


def rules_from(js: str) -> list[tuple[str, str]]:
    """The (selector, declarations) plotly.js adds, in its order, with X and Y expanded."""
    start = js.index('{"X,X div":')
    end = js.index("};for(", start)
    rules = []
    for key, value in _PAIR.findall(js[start + 1 : end]):
        selector = re.sub(r"^,", " ,", _unquote(key))
        selector = selector.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        rules.append((selector, _unquote(value)))
    if not rules or rules[0][0] != ".js-plotly-plot .plotly,.js-plotly-plot .plotly div":
        raise ValueError("plotly.min.js's style rules were not where they used to be")
    return rules


_BUNDLED = re.compile(
    r'getElementById\("([0-9a-f]{16,})"\)\)\{var \w+=document\.createElement\("style"\)'
)


def bundled_style_ids(js: str) -> list[str]:
    """Ids of the stylesheets plotly.js's bundled libraries (maplibre, for maps) inject unless
    an element with that id is already on the page. We draw no maps: the pages hold an element
    under each id, and no such sheet is injected."""
    return _BUNDLED.findall(js)


@functools.cache
def page_ids() -> tuple[str, ...]:
    js = (plotly_js_dir() / FILE_NAME).read_text(encoding="utf-8")
    return ("plotly.js-style-global", *bundled_style_ids(js))


def stylesheet(js: str) -> str:
    lines = [
        "/* plotly.js's style rules, generated from the plotly package's plotly.min.js by",
        "   `python -m surveys.plotlycss`; linked as #plotly.js-style-global.no-inline-styles",
        "   so plotly.js adds no inline <style> (Content-Security-Policy). */",
    ]
    lines += [f"{selector}{{{declarations}}}" for selector, declarations in rules_from(js)]
    return "\n".join(lines) + "\n"


def current() -> str:
    return stylesheet((plotly_js_dir() / FILE_NAME).read_text(encoding="utf-8"))


if __name__ == "__main__":
    CSS_PATH.write_text(current(), encoding="utf-8")
    sys.stdout.write(f"wrote {CSS_PATH}\n")
