"""cxrcaption training: tokenizers and vocabulary (tokenize), manifest and intake (dataset), the two-stage
trainer with checkpoints and export (train), evaluation glue (evaluate). Run modules with `python -m` from
training/."""
