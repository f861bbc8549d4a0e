"""A plain-text progress bar for storage's long commands."""

from __future__ import annotations

import time

from django.core.management.base import OutputWrapper


class ProgressBar:
    """`[#####.....] 12/40 objects` redrawn in place on a terminal, every 10 % elsewhere."""

    def __init__(self, out: OutputWrapper, label: str, unit: str, width: int = 30) -> None:
        self.out = out
        self.label = label
        self.unit = unit
        self.width = width
        self.tty = out.isatty()
        self.last_decile = -1
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        fraction = done / total if total else 1.0
        filled = int(self.width * fraction)
        line = (
            f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{done}/{total} {self.unit} ({100 * fraction:.0f} %, "
            f"{time.monotonic() - self.started:.1f} s)"
        )
        if self.tty:
            # ending="": OutputWrapper would otherwise end every redraw with a newline.
            self.out.write("\r" + line + ("\n" if done >= total else ""), ending="")
            self.out.flush()
            return
        decile = int(10 * fraction)
        if decile != self.last_decile or done >= total:
            self.last_decile = decile
            self.out.write(line)
