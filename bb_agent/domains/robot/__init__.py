"""The robot domain: the embedded kinematic tabletop simulator and its skill adapters."""
