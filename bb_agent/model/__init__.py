"""The builder model and its decoders (torch and transformers, never rclpy).

A frozen Hugging Face decoder-only base model is wrapped with a small learned builder
rail (composition blocks, a skill-adapter library with a Gumbel router, per-layer gates
and a plan-graph head). Decoding is grammar-masked with llguidance from the same
``.lark`` grammars the checker parses, in strict, soft or constrained-beam modes, on a
torch eager or an ONNX Runtime backend.
"""
