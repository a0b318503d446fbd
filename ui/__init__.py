"""Support code for the Streamlit app (app.py + pages/): session state, workspace on disk, charts,
the comparison and the decision memo. Pages stay thin and call the packages through these."""
