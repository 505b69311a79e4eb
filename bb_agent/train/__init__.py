"""Offline training, data synthesis, evaluation and export.

Synthetic robot traces with domain-shift skins, the generic trace format for users' own
data, tokenizer and base-rail pretraining, the Lagrangian multi-constraint builder-rail
trainer, the evaluation battery and ONNX export. Nothing that runs on a robot imports
this package: an import-linter contract forbids it, and its ``bb-agent`` sub-commands
are registered as entry points so the CLI never imports it unless asked to train.
"""

# The measures of ``bb-agent eval`` (battery parts), light enough for the CLI's --help.
PARTS = ('splits', 'ablation', 'takeover', 'stacking', 'intent')
