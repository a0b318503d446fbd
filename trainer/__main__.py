"""Fine-tune a model on your labelled examples, as one command.

One device (CPU, or one GPU when present), in the foreground; prints one JSON object at the end:
    python -m trainer train --train data/train.csv --test data/test.csv \\
        --text-col text --label-col category --json
    python -m trainer train --config my_run.yaml --epochs 5      # flags override the file

Many GPUs (DDP; only rank 0 writes the run folder):
    accelerate launch -m trainer train --train data/train.csv --text-col text --label-col label
    torchrun --nproc_per_node 8 -m trainer train --train data/train.csv --text-col text ...

Background jobs and runs:
    python -m trainer launch --train data/train.csv ...     # queued job; prints the run id
    python -m trainer launch ... --cluster http://HEAD:8265 [--gpus 1 --gpu-type L4]  # Ray job
    python -m trainer status RUN --json
    python -m trainer cancel RUN                            # checkpoint, then cancelled
    python -m trainer resume RUN                            # from the last checkpoint
    python -m trainer list --json
    python -m trainer predict --run RUN --input new.csv --text-col text --out preds.csv
                                                   # your columns + pred,confidence
    python -m trainer export --run RUN --out my-model [--merged]   # safetensors + model card

Every flag and its meaning: `python -m trainer train --help`. Bad input exits with status 2 and
one line naming the field.
"""

from __future__ import annotations

import sys

from trainer.cli import main

if __name__ == "__main__":
    sys.exit(main())
