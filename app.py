"""Fine-tune advisor: the Streamlit app.

Run from the repository root:

    .venv/bin/streamlit run app.py                      # http://127.0.0.1:8501
    ADVISOR_WORKSPACE=/path/to/ws .venv/bin/streamlit run app.py

Settings (address 127.0.0.1, XSRF protection, upload limit) are in .streamlit/config.toml.
Projects, answers, uploads, splits, results and training runs live under ./workspace (or
$ADVISOR_WORKSPACE), so a refresh or a restart loses nothing. The pages are in pages/ and listed
in ui/nav.py.
"""

from __future__ import annotations

import streamlit as st

from ui.nav import PAGES, app_running, page, pin_script_folder
from ui.sidebar import project_picker

pin_script_folder(__file__)

# An emoji favicon is drawn by the browser from an inline SVG; a ":material/...:" one is
# fetched from fonts.gstatic.com (Streamlit 1.67), and the page must make no outside request.
PAGE_ICON = "🎛️"
st.set_page_config(page_title="Fine-tune advisor", page_icon=PAGE_ICON, layout="wide")
navigation = st.navigation([page(key) for key in PAGES])
project_picker()
with app_running():
    navigation.run()
