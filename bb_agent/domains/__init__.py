"""Per-domain plugins: robot, api_json, phone and social.

Each domain binds its grammar and plan schema to runtime behaviour: skill adapters,
template fallbacks, safe-pose or safe-response fallbacks, deferral thresholds and the
clarification questions asked when the builder defers. Nodes look domains up by name;
adding a domain means adding a plugin here plus its grammar and schema files.
"""
