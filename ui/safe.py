"""User strings shown as plain text. Streamlit renders the body of st.error / st.warning /
st.info / st.success / st.caption / st.markdown (and widget labels and help) as Markdown: a
label such as `![x](http://host/beacon.png)` would make the browser fetch that URL,
`[x](http://...)` or a bare `http://...` would become a live link, `:red[...]` would restyle the
text and `$...$` would turn into LaTeX. Every string that holds user data (file and column names,
labels, data errors and warnings, run reasons and names) goes through `plain` before it reaches
one of those calls.

    st.error(plain(str(exc)))
    st.warning(plain(warning))

Only what can act is escaped (brackets, which every link, image and colour directive needs; `<`
for HTML and autolinks; the `://` and `www.` of bare URLs; code, emphasis, strike and LaTeX
marks), so names such as `weekly_rate_usd` or `a.csv` read the same in the page source.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*\[\]<$~&])")
_BARE_URL = re.compile(r"(://|(?i:www)\.)")


def plain(text: object) -> str:
    """`text` escaped so that Markdown shows it verbatim: no image, link, autolinked URL, HTML,
    colour directive, LaTeX, code span or emphasis."""
    escaped = _SPECIAL.sub(r"\\\1", str(text))
    escaped = _BARE_URL.sub(lambda m: m.group(0)[:-1] + "\\" + m.group(0)[-1], escaped)
    return escaped.replace("\n", "  \n")  # keep line breaks as breaks, not paragraphs
