"""RenderedHTML: one self-contained page, what every view returns."""

import html
import os

__all__ = ["RenderedHTML"]


class RenderedHTML:
    def __init__(self, page):
        self.page = page

    def _repr_html_(self):
        # In a frame of its own: the page's ids, styles and scripts cannot meet another view's in
        # the same notebook. The frame grows to the page's height once it has drawn.
        return ('<iframe class="tlens-view" style="width: 100%; border: 0" srcdoc="'
                + html.escape(self.page, quote=True)
                + '" onload="this.style.height = '
                  '(this.contentDocument.documentElement.scrollHeight + 16) + \'px\'"></iframe>')

    def __html__(self):
        return self._repr_html_()

    def __str__(self):
        return self.page

    def save(self, path):
        """Writes the page to `path` (a file that opens offline in any browser)."""
        with open(os.fspath(path), "w", encoding="utf-8") as out:
            out.write(self.page)
