"""RAG baseline on your own labelled data, scored on a held-out split (one device: CPU or one GPU).

Run:
    python -m rag_baseline evaluate --train train.csv [--test test.csv] \\
        [--text-col text] [--label-col label] [--task classification|generation] \\
        [--embedder shipped:all-MiniLM-L6-v2|ID|DIR] [--generator ID|DIR|FILE.gguf] \\
        [--k K] [--no-cache] [--drop-leakage] [--long-texts chunk|head] [--out DIR] [--json]
        [--quick [--quick-train 1000] [--quick-test 500]]
    python -m rag_baseline validate --train train.csv [--test test.csv] [--json]

`evaluate` embeds the texts (cached under .cache/embeddings unless --no-cache), then scores
kNN retrieval, a linear probe and the classic TF-IDF + linear SVM (and their combination where
cross-validation on the training split says it helps), naming the `best` by that CV
(classification), or few-shot RAG with a small LM and the nearest neighbour's answer
(generation). `--quick` gives the same JSON from a stratified sample in seconds, with a learning
curve; its vectors are cached, so the full run that follows skips them. `--json` prints one JSON
object on stdout; progress goes to stderr. `validate` only checks the data and saves the split;
it loads no model.
Bad input exits with status 2 and one line on stderr. `--help` on each command lists every flag.
"""

from __future__ import annotations

import sys

from rag_baseline.cli import main

if __name__ == "__main__":
    sys.exit(main())
