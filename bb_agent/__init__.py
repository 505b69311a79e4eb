"""bb_agent: a ROS 2 agent stack whose LLM-written plans are checked before anything moves.

Layers (enforced by import-linter contracts, see ``.importlinter``):

- :mod:`bb_agent.core`: pure Python (DSL, plan graph, checker, V_s math, config schemas);
- :mod:`bb_agent.model`: the torch builder model and grammar-masked decoding;
- :mod:`bb_agent.train`: offline training, never imported at run time;
- :mod:`bb_agent.safety`: V_s monitor logic, promotion gate, run ledger;
- :mod:`bb_agent.domains`: per-domain plugins (robot, api_json, phone, social);
- :mod:`bb_agent.nodes`: thin rclpy nodes; the only layer that imports rclpy.
"""

__version__ = '0.1.0'
