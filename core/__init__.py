"""The shared core: loading and validating the user's data, the saved held-out split, metrics and
model locations. Used alike by `rag_baseline`, `trainer`, the comparison and the app; imports no
torch (model loading happens in the callers).
"""
