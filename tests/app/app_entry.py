"""AppTest entry point: runs the real app.py from a folder without a `pages/` directory.

AppTest resets Streamlit's multipage mode before every run and, with a `pages/` folder next to
the main script, reruns the current page in the legacy (v1) mode without app.py. The pages then
re-enter through app.py (ui.nav.require_app), but that extra rerun drops a button click. From
here every run takes the st.navigation path, as every run after the first does in a real server.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from ui.nav import pin_script_folder  # noqa: E402  (needs REPO on sys.path)

pin_script_folder(__file__)  # this folder is the main script's here (see ui.nav)
runpy.run_path(str(REPO / "app.py"), run_name="__main__")
