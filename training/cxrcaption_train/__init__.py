"""cxrcaption training: tokenizers and vocabulary (tokenize), manifest and intake (dataset), the two-stage
trainer with checkpoints and export (train), evaluation glue (evaluate), self-critical fine-tuning (scst),
finding metrics (finding_metrics). The commands are console scripts of the cxrcaption-training package
(cxrcaption-train, cxrcaption-evaluate, cxrcaption-scst, cxrcaption-finding-metrics), or `python -m
cxrcaption_train.<module>`."""
