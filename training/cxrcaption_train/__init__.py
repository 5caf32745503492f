"""cxrcaption training.

Data: dataset layouts as image records (records), image files through the library's intake (images), report
sections and training targets (reports), CheXpert-style labels from report text (labeler), tokenizers and
vocabulary (tokenize), targets, labels and the torch datasets (dataset), sharded on-disk caches (caches).
Training: the two-stage trainer (train), devices and torchrun processes (distributed), atomic run files and
the run lock (checkpoints), learning-rate schedules (schedules), logs and progress (runlog), validation
decoding and metrics (validation), loader and cache measurements (bench). Evaluation: per-study evaluation
glue (evaluate), CIDEr-D (cider), finding metrics (finding_metrics), self-critical fine-tuning (scst).

The commands are console scripts of the cxrcaption-training package (cxrcaption-train, cxrcaption-evaluate,
cxrcaption-scst, cxrcaption-finding-metrics), or `python -m cxrcaption_train.<module>`."""
